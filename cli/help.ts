const COMMON = `Common options:
  --api URL         the Drawbridge API (default: DRAWBRIDGE_API_URL, the config file, or local mode)
  --token JWT       bearer token (default: DRAWBRIDGE_TOKEN, or the config file)
  --data-dir DIR    local mode's data directory (default: DRAWBRIDGE_DATA_DIR, or .drawbridge in the repo)
  --json            machine-readable output on stdout; errors as {"error":{"code","message"}}
  -h, --help        this help`;

export const MAIN_HELP = `drawbridge: ephemeral bastions on demand

Usage: drawbridge <command> [options]

Commands:
  login    sign in (local mode, or with a token from your identity provider)
  open     open a session to a target and wait until it is READY
  ls       list your sessions
  show     one session, and how to connect when it is READY
  end      end a session now
  events   a session's audit trail, with its hash chain checked

Run drawbridge <command> --help for a command's options.

Configuration, first found wins:
  flags --api / --token, then DRAWBRIDGE_API_URL / DRAWBRIDGE_TOKEN, then the config file
  ($DRAWBRIDGE_CONFIG, or $XDG_CONFIG_HOME/drawbridge/config.json, or
  ~/.config/drawbridge/config.json), then for the URL <data dir>/local.json (local mode).
  Keys made by open live in keys/ next to the config file.

Exit codes:
  0    ok
  1    unexpected error, network error, or a 5xx from the API
  2    usage error (unknown option, bad duration, missing argument)
  3    not signed in, token refused (401), or not allowed (403)
  4    not found (404): no such session, or not yours
  5    refused by policy or quota (400, 409, 429 from the API)
  6    the session FAILED (or ended before it was ready)
  130  interrupted (Ctrl-C); a pending request is revoked first
  open --connect exits with ssh's exit code.
`;

export const COMMAND_HELP: Record<string, string> = {
  login: `Usage:
  drawbridge login --local --user NAME [--groups G1,G2] [--ttl 1h] [--data-dir DIR]
  drawbridge login --token JWT --api URL

--local mints a token with local mode's own issuer key (only on the machine that runs
local mode, npm start) and signs you in to it. --token saves a token from your identity
provider for a deployed API. Either way the API URL and token are saved to the config file
(mode 0600).

Options:
  --local           sign in to local mode on this machine
  --user NAME       the identity to act as (local mode)
  --groups LIST     comma-separated groups, e.g. dev,oncall (local mode)
  --ttl DURATION    token lifetime, e.g. 30m, 8h (local mode; default 1h, at most 24h)

${COMMON}
`,
  open: `Usage:
  drawbridge open <target> --reason "why" [--for 30m] [--key ~/.ssh/id_ed25519.pub]
                  [--connect] [--local-port N] [--wait-timeout 10m]

Requests a session, waits until it is READY, then prints the ssh lines (port forward, ssh
through the bastion, ~/.ssh/config snippet) and when it expires. Unless --key is given a
fresh ed25519 key pair is made for the session; its private half never leaves this machine.
Ctrl-C while waiting revokes the request.

Options:
  --reason TEXT         why you need access (required; recorded in the audit trail)
  --for DURATION        how long, e.g. 30m, 1h, 1h30m (default: the target's default)
  --key PATH            send this public key instead of making one
  --connect             run ssh when READY: through the bastion for a target on port 22,
                        otherwise a local port forward
  --local-port N        local end of the port forward (default: the API's suggestion, or a
                        free port if that one is taken here)
  --wait-timeout DUR    give up (and revoke) if not READY by then (default 10m)

${COMMON}
`,
  ls: `Usage:
  drawbridge ls [--all] [--status STATUS] [--target TARGET] [--limit N] [--cursor C]

Options:
  --all             everyone's sessions (admins only)
  --status STATUS   REQUESTED, PROVISIONING, READY, ENDING, ENDED or FAILED
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
event, or unverifiable (the API returned events in an unexpected shape).

${COMMON}
`,
};
