/** The exit code of a service that stops at boot on a missing or invalid setting. */
export const CONFIG_EXIT_CODE = 2;

/** One bad setting: the variable's name and what is wrong with it. */
export interface ConfigProblem {
  readonly setting: string;
  readonly problem: string;
}

export interface ConfigErrorOptions {
  /** Prefixes the message with `invalid <service> configuration: `. */
  readonly service?: string;
  /** Further bad settings, listed after the first in the message. */
  readonly more?: readonly ConfigProblem[];
}

/**
 * Thrown at boot for a missing or invalid setting. `setting` names the (first) variable, and the
 * message is `SETTING: problem[; SETTING: problem…]`, after `invalid <service> configuration: `
 * when the service is given. Never carries a secret's value.
 */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  override readonly name = 'ConfigError';
  /** Every bad setting, the first one first. */
  readonly problems: readonly ConfigProblem[];
  /** The message without the service prefix. */
  readonly detail: string;

  constructor(
    readonly setting: string,
    readonly problem: string,
    options: ConfigErrorOptions = {},
  ) {
    const problems = [{ setting, problem }, ...(options.more ?? [])];
    const detail = problems.map((p) => `${p.setting}: ${p.problem}`).join('; ');
    super(
      options.service === undefined
        ? detail
        : `invalid ${options.service} configuration: ${detail}`,
    );
    this.problems = problems;
    this.detail = detail;
  }
}
