const COMMON = `Common options:
  --api URL         the Drawbridge API (default: DRAWBRIDGE_API_URL, the config file, or local mode)
  --token JWT       bearer token (default: DRAWBRIDGE_TOKEN, or the config file)
  --data-dir DIR    local mode's data directory (default: DRAWBRIDGE_DATA_DIR, or .drawbridge in the repo)
  --json            machine-readable output on stdout; errors as {"error":{"code","message"}}
  -h, --help        this help`;

export const MAIN_HELP = `drawbridge: ephemeral bastions on demand

Usage: drawbridge <command> [options]

Commands:
  login    sign in with your identity provider (browser, or --device; --local for the demo)
  whoami   who you are signed in as: subject, groups, MFA and its age, expiry
  logout   revoke your tokens and forget them
  targets  what you may open: mode, durations, approval, MFA, break-glass
  open     open a session to a target and wait until it is READY
  ls       list your sessions
  show     one session, and how to connect when it is READY
  end      end a session now
  events   a session's audit trail (hash chain checked) and its connection log
  extend   more time for a READY session, within the policy
  approve  let a request that waits for approval go ahead (approvers; never your own)
  deny     refuse a request that waits for approval (approvers)
  reviews  break-glass sessions to review, open ones first (admins)
  review   close a break-glass review with a verdict (admins)
  usage    usage and estimated cost, with bastion-hours per day (admins, finops)
  audit    audit verify <id>: the API recomputes a session's trail and says if it is intact
  replay   play a session's recording in this terminal (owner, admins, auditors)
  recording  export a session's recording as asciicast v2 (asciinema) or text

Run drawbridge <command> --help for a command's options; drawbridge --version for the version.

Configuration, first found wins:
  flags --api / --token, then DRAWBRIDGE_API_URL / DRAWBRIDGE_TOKEN, then the config file
  ($DRAWBRIDGE_CONFIG, or $XDG_CONFIG_HOME/drawbridge/config.json, or
  ~/.config/drawbridge/config.json), then for the URL <data dir>/local.json (local mode).
  Keys made by open live in keys/ next to the config file.

Exit codes:
  0    ok
  1    unexpected error, network error, or a 5xx from the API
  2    usage error (unknown option, bad duration, missing argument, or a request the API
       answered 400: unknown target, --for over the target's maximum)
  3    not signed in, token refused (401), or not allowed (403)
  4    not found (404): no such session, or not yours
  5    refused by policy or quota (409, 429 from the API)
  6    the session FAILED (or ended before it was ready)
  7    audit verify, replay, recording: the audit trail or the recording does not verify
  130  interrupted (Ctrl-C); a pending request is revoked first
  open --connect exits with ssh's exit code when you leave the connection, and 0 when the
  session ended under it (its window closed, or it was ended): it says when and why.
`;

export const COMMAND_HELP: Record<string, string> = {
  login: `Usage:
  drawbridge login [--api URL] [--device] [--no-browser]
  drawbridge login --issuer URL --client-id ID [--scopes "openid offline_access ..."] --api URL
  drawbridge login --local --user NAME [--mfa] [--data-dir DIR]
  drawbridge login --token JWT --api URL

Signs in with the identity provider the API trusts (its issuer, client id and scopes come
from the API's /.well-known/drawbridge, or from --issuer and --client-id): your browser opens
on the provider's sign-in page and comes back to this machine (authorization code with PKCE,
loopback redirect). On a machine without a browser, --device prints a URL and a code to
enter on any other device. Tokens are cached in the config file (mode 0600, directory 0700)
and renewed silently while the provider allows; drawbridge logout revokes them.

--local signs a demo user of local mode (policy/local-users.yaml) in through local mode's own
OpenID Provider, filling its sign-in form for you; --mfa also enters the one-time code.
--token saves a token you already have, as given.

Options:
  --device          device authorization grant (headless machines)
  --no-browser      print the sign-in URL instead of opening a browser
  --issuer URL      the OpenID Connect issuer (when the API does not publish it)
  --client-id ID    the CLI's client id at that issuer
  --scopes LIST     scopes to ask for (default: openid offline_access)
  --local           sign in to local mode on this machine as a demo user
  --user NAME       the demo user (local mode: alice, bob, carol, dana, fiona)
  --password PW     the demo user's password (default: from the local users file)
  --mfa             enter the demo second factor too (amr pwd+otp), for targets and
                    break-glass that ask for fresh MFA

${COMMON}
`,
  targets: `Usage:
  drawbridge targets

The targets your groups may open (and, if you are on call, those break-glass covers): mode,
access, whether a session there is recorded (the terminal; input too, or not; the idle
timeout and whether it ends the session), default and maximum duration, whether a request
waits for approval and by whom, whether a fresh second factor is required, and the
break-glass maximum.

${COMMON}
`,
  whoami: `Usage:
  drawbridge whoami

Shows who the cached token says you are: subject, groups, whether a second factor was used
(amr) and how long ago you signed in (auth_time), and when the token expires. An expired
token is renewed first when the identity provider allows.

${COMMON}
`,
  logout: `Usage:
  drawbridge logout

Revokes your tokens at the identity provider (its revocation endpoint ends the grant, so the
refresh token stops working) and removes them from the config file.

${COMMON}
`,
  open: `Usage:
  drawbridge open <target> --reason "why" [--for 30m] [--key ~/.ssh/id_ed25519.pub]
                  [--connect [--keep] [--stdio | --shell]] [--local-port N]
                  [--wait-timeout 10m]

Requests a session, waits until it is READY, then prints the ssh lines (port forward, ssh
through the bastion, ~/.ssh/config snippet) and when it expires. Unless --key is given a
fresh ed25519 key pair is made for the session; its private half never leaves this machine.
Ctrl-C while waiting revokes the request.

A recorded target (RECORDED YES in drawbridge targets) is a shell on the bastion, never a
tunnel: open says the session is recorded and prints its ssh -tt line; --connect runs it; the
target is reached from that shell. --stdio and --local-port are refused there (exit 2).

Options:
  --reason TEXT         why you need access (required; recorded in the audit trail)
  --for DURATION        how long, e.g. 30m, 1h, 1h30m (default: the target's default)
  --key PATH            send this public key instead of making one
  --connect             run ssh when READY: through the bastion for a target on port 22,
                        otherwise a local port forward; the shell (ssh -tt) when recorded. For an ssm target: aws ssm
                        start-session (port forward, or the shell with --shell), with the
                        session's credentials in its environment only. For an eice target:
                        push the key, then ssh (or a port forward for other ports) through
                        aws ec2-instance-connect open-tunnel, reopened with fresh credentials
                        whenever the tunnel closes before the window ends
  --keep                with --connect: keep the session when the connection closes (by
                        default leaving the connection ends the session, as aws ssm
                        start-session does)
  --stdio               with --connect: join this terminal to the target itself (ssh -W),
                        as nc would; type a line and the target gets it. Needs only OpenSSH
  --shell               ssm targets, with --connect: open a shell instead of the forward
  --local-port N        local end of the port forward (default: the API's suggestion, or a
                        free port if that one is taken here)
  --wait-timeout DUR    give up (and revoke) if not READY by then (default 10m; while the
                        request waits for approval, counted from the approval deadline)
  --break-glass         on-call access with no approval wait, over your normal quota:
                        alerts the security channel at once and is reviewed afterwards
                        (members of the policy's break-glass groups only)
  --incident ID         the incident you respond to, e.g. INC-123 (with --break-glass)

${COMMON}
`,
  ls: `Usage:
  drawbridge ls [--all] [--status STATUS] [--target TARGET] [--limit N] [--cursor C]

Options:
  --all             everyone's sessions (admins only)
  --status STATUS   REQUESTED, PENDING_APPROVAL, PROVISIONING, READY, ENDING, ENDED
                    or FAILED
  --target TARGET   only this target
  --limit N         at most N sessions (1-100, default 25)
  --cursor C        the next page, as printed by the previous one

${COMMON}
`,
  show: `Usage:
  drawbridge show <session-id>

Prints the session; when it is READY, also how to connect (with the key open made for it,
if it is on this machine).

${COMMON}
`,
  end: `Usage:
  drawbridge end <session-id>

Ends the session now: the bastion is torn down and live connections are cut.

${COMMON}
`,
  events: `Usage:
  drawbridge events <session-id>

Prints the session's audit trail and recomputes its hash chain: intact, BROKEN at an
event, or unverifiable (the API returned events in an unexpected shape). Then the bastion's
connection log, with times: who connected and authenticated (with which key), from where,
which forwards were refused, and when they left.

${COMMON}
`,
  usage: `Usage:
  drawbridge usage [--from 2026-11-01] [--to 2026-11-30] [--group-by user|target|team|day]
                   [--csv | --json]

Sessions, bastion-hours, estimated cost (instances billed per second with a 60 s minimum,
public IPv4, Lambda and DynamoDB), overstay past the window, orphans the reaper found and
break-glass, then a bar chart of bastion-hours per day. For admins and the policy's
finopsGroup. A date as --to includes that whole day; times are UTC.

Options:
  --from DATE       start (YYYY-MM-DD or ISO 8601 time; default 30 days before --to)
  --to DATE         end (default now)
  --group-by G      user (default), target, team or day
  --csv             the report as CSV, for a spreadsheet

${COMMON}
`,
  audit: `Usage:
  drawbridge audit verify <session-id>

The API reads the session's audit events from the table and recomputes every hash, every
link to the previous event and the end of the chain against the head the session records:
a changed, removed or reordered event breaks it. For a recorded session it also checks the
recording: every chunk's hash, its link to the previous one, no gap in the sequence, and its
end against the chain head the session stored once the recording settled (a missing, altered,
reordered or truncated chunk). A recording whose bastion went before its recorder closed it is
reported cut short, and one still settling (an ec2 session that ended in the last few
minutes) says so. A recording too long to read whole is reported not verified in full (its
beginning is checked, its end is not). Exits 0 if both are intact, 7 if either is broken or
the recording could not be verified in full.

${COMMON}
`,
  replay: `Usage:
  drawbridge replay <session-id> [--speed N] [--idle-limit S]

Plays the session's recording in this terminal with its timing: a recorded shell's screen,
Session Manager's output for ssm, or for a jump-only session its connections and forwards.
Each replay is recorded in the session's audit trail with your name. Owner, admins and the
policy's auditors only.

  --speed N         play N times faster (default 1)
  --idle-limit S    no pause longer than S seconds (default 2)

Exits 7 if the recording does not verify, or is too long to read whole (it still plays
what there is: then only its beginning).

${COMMON}
`,
  recording: `Usage:
  drawbridge recording <session-id> [--out file.cast] [--text]

Exports the session's recording as asciicast v2 (plays in asciinema and compatible players),
or with --text as plain text stamped with UTC times, for grep; to stdout without --out. The
export is recorded in the session's audit trail. Exits 7 if the recording does not verify.

${COMMON}
`,
  extend: `Usage:
  drawbridge extend <session-id> --by 15m --reason "why"

Moves the end of a READY session (yours) and every expiry layer with it: the scheduled end,
the reaper's deadline, and where the bastion's key can be rewritten (local mode) the key's
expiry-time. On an ec2 bastion the key was written at launch with the target's headroom
(extensionHeadroomMinutes), so an extension can go that far and no further; the policy's
maximum total applies everywhere. Targets that need approval cannot be extended: request a
new session.

Options:
  --by DURATION     how much longer, e.g. 15m, 1h
  --reason TEXT     why (required; recorded in the audit trail)

${COMMON}
`,
  approve: `Usage:
  drawbridge approve <session-id> [--comment "..."]

Lets a request that waits in PENDING_APPROVAL go ahead; its bastion is launched now and its
window starts when it is READY. Only members of the target's approver groups, and never the
person who asked. The id comes from the approval notice or the requester.

${COMMON}
`,
  deny: `Usage:
  drawbridge deny <session-id> [--comment "..."]

Refuses a request that waits in PENDING_APPROVAL; it ends as denied, with your comment.

${COMMON}
`,
  reviews: `Usage:
  drawbridge reviews [--status open|reviewed|all] [--limit N] [--cursor C]

Every break-glass session has a review that stays open until an admin closes it. Lists them
open ones first, newest first (admins only).

${COMMON}
`,
  review: `Usage:
  drawbridge review <session-id> --verdict appropriate|inappropriate --comment "..."

Closes the review of a break-glass session (admins; not your own break-glass).

${COMMON}
`,
};
