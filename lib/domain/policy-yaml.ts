import { parseDocument } from 'yaml';
import { PolicyError } from './errors.ts';
import { type Policy, validatePolicy } from './policy.ts';

// The YAML reader of the policy, apart from lib/domain/policy.ts so that the functions, which
// read the JSON the package step writes, do not bundle the YAML parser (≈25 ms of cold start).
// The CLI's local mode, the policy check and serverless/validate-policy.cjs read YAML here.
export function parsePolicy(yamlText: string, source = 'policy'): Policy {
  let document: unknown;
  try {
    const parsed = parseDocument(yamlText);
    // The YAML library only warns about an unknown tag (`!Ref`, `!!js/function`) and turns it
    // into a plain string; in a policy that is a mistake, as fatal as a syntax error.
    const [problem] = [...parsed.errors, ...parsed.warnings];
    if (problem) throw problem;
    document = parsed.toJS({ maxAliasCount: 0 });
  } catch (error) {
    throw new PolicyError(
      `${source} is not valid YAML: ${(error as Error).message.split('\n')[0]}`,
      { cause: error },
    );
  }
  return validatePolicy(document, source);
}
