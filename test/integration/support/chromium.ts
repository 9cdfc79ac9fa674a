import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium (apt-get install chromium), or the one `$TOOLGATE_CHROMIUM` names. */
export const CHROMIUM_PATH = process.env.TOOLGATE_CHROMIUM ?? '/usr/bin/chromium';

/**
 * `describe` for suites that drive a real headless browser. Without chromium the suite is
 * skipped with a warning, unless `TOOLGATE_REQUIRE_CHROMIUM=1` (CI), where it fails: a
 * skipped suite must never pass for a green build there.
 */
export function describeWithChromium(name: string, fn: () => void): void {
  if (existsSync(CHROMIUM_PATH)) {
    describe(name, fn);
  } else if (process.env.TOOLGATE_REQUIRE_CHROMIUM === '1') {
    describe(name, () => {
      it(`needs chromium at ${CHROMIUM_PATH} (TOOLGATE_REQUIRE_CHROMIUM=1)`, () => {
        throw new Error(`chromium is not at ${CHROMIUM_PATH}; install it (apt-get install chromium), set TOOLGATE_CHROMIUM, or unset TOOLGATE_REQUIRE_CHROMIUM`);
      });
    });
  } else {
    console.warn(`skipping "${name}": chromium is not at ${CHROMIUM_PATH} (apt-get install chromium, or set TOOLGATE_CHROMIUM)`);
    describe.skip(name, fn);
  }
}

/** Headless chromium, as a CI container runs it (no user namespaces for its sandbox there). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] });
}
