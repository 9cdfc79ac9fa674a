import { redisServerAvailable } from '../../support/dev-redis-server';

/**
 * `describe` for suites that need a real redis-server. Without one the suite is skipped with
 * a warning, unless `TOOLGATE_REQUIRE_REDIS=1` (CI), where it fails: a skipped suite must
 * never pass for a green build there.
 */
export function describeWithRedis(name: string, fn: () => void): void {
  if (redisServerAvailable()) {
    describe(name, fn);
  } else if (process.env.TOOLGATE_REQUIRE_REDIS === '1') {
    describe(name, () => {
      it('needs redis-server on PATH (TOOLGATE_REQUIRE_REDIS=1)', () => {
        throw new Error('redis-server is not on PATH; install it (apt-get install redis-server) or unset TOOLGATE_REQUIRE_REDIS');
      });
    });
  } else {
    console.warn(`skipping "${name}": redis-server is not on PATH (install it with apt-get install redis-server, or brew install redis)`);
    describe.skip(name, fn);
  }
}
