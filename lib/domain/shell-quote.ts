/**
 * Quoting for lines a person pastes into a POSIX shell (sh, bash, zsh). One implementation for
 * the API's ready-made command lines and the CLI's, so both read back as the argument vector
 * they were made from, whatever a target name, path or reason holds.
 */

const SAFE_SHELL_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One word, single-quoted unless it is plainly safe; a `'` inside becomes `'\''`. */
export function shellQuote(word: string): string {
  if (SAFE_SHELL_WORD.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * An argument vector as one line. Double quotes when nothing in the word is special inside
 * them (it reads better around a ProxyCommand that has single quotes of its own), single
 * quotes otherwise.
 */
export function shellLine(argv: readonly string[]): string {
  return argv
    .map((word) => {
      if (SAFE_SHELL_WORD.test(word)) return word;
      if (!/["$`\\!]/.test(word)) return `"${word}"`;
      return shellQuote(word);
    })
    .join(' ');
}
