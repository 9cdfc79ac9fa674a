// Lets a plain `node` child process load the TypeScript sources, compiled the way jest
// compiles them (@swc/core, types stripped). Used by sustained-load.test.ts, which must run
// its load outside jest: see that file.
const { readFileSync } = require('node:fs');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
