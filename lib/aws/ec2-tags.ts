// The tags on everything Drawbridge launches, and the one EC2 sets itself.
export const TAG_SESSION = 'drawbridge:session';
export const TAG_OWNER = 'drawbridge:owner';
export const TAG_EXPIRES_AT = 'drawbridge:expires-at';
export const TAG_STAGE = 'drawbridge:stage';
/**
 * EC2 sets this on every instance launched from a template, and nobody can set or change an
 * `aws:` tag: matching it (not only the stage tag, which anyone allowed to tag may write) keeps
 * the reaper's hands off instances Drawbridge did not launch.
 */
export const TAG_LAUNCH_TEMPLATE = 'aws:ec2launchtemplate:id';
