/**
 * What a gateway has made, with how to release each: a resource's release is registered
 * the moment it is made, and `release` undoes everything in reverse order (what was made
 * last, and may use what was made before it, goes first). A start that fails midway and a
 * shutdown release through the same stack, so neither can forget a resource the other knows.
 *
 * `C` is what a release may need to know of the moment (a shutdown's grace period).
 */
export class ResourceStack<C> {
  readonly #entries: Array<{ readonly name: string; readonly release: (context: C) => unknown }> = [];
  #releasing: Promise<void> | undefined;
  #context: C | undefined;

  constructor(
    /** A release that threw or rejected: reported, and the others are released all the same. */
    private readonly onError: (name: string, err: unknown) => void,
    /** Each resource as it is added (`made`) and as its release begins (`releasing`): the `gateway` trace. */
    private readonly trace?: (event: 'made' | 'releasing', name: string) => void,
  ) {}

  /** Names of what is held, oldest first. */
  get names(): string[] {
    return this.#entries.map((e) => e.name);
  }

  /**
   * Registers how to release `name`, just made. A resource made once the stack is being
   * released (a start abandoned meanwhile) is released at once.
   */
  add(name: string, release: (context: C) => unknown): void {
    this.trace?.('made', name);
    if (this.#releasing !== undefined) void this.#releaseOne({ name, release }, this.#context!);
    else this.#entries.push({ name, release });
  }

  /** Releases everything, newest first, one after the other; once (later calls share the first). */
  release(context: C): Promise<void> {
    if (this.#releasing === undefined) {
      this.#context = context;
      this.#releasing = this.#releaseAll(context);
    }
    return this.#releasing;
  }

  async #releaseAll(context: C): Promise<void> {
    for (let entry = this.#entries.pop(); entry !== undefined; entry = this.#entries.pop()) await this.#releaseOne(entry, context);
  }

  async #releaseOne(entry: { readonly name: string; readonly release: (context: C) => unknown }, context: C): Promise<void> {
    this.trace?.('releasing', entry.name);
    try {
      await entry.release(context);
    } catch (err) {
      this.onError(entry.name, err);
    }
  }
}
