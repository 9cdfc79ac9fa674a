#!/usr/bin/env node
// Generates the TypeScript types of the SPIFFE Workload API messages and service from
// proto/spiffe/workload/workload.proto with @grpc/proto-loader's `proto-loader-gen-types`.
// The output is committed (src/spiffe/workload/generated); `npm run generate:workload-api`
// rewrites it, and test/unit/spiffe/workload/generated-types.test.ts fails when it is stale.
//
// The options mirror how the client loads the proto at run time (PROTO_LOADER_OPTIONS in
// src/spiffe/workload/proto.ts: keepCase, defaults, oneofs), so that the decoded (`X`) types
// say exactly what grpc-js hands over; `OutgoingX` is what may be sent.
//
// Usage: node scripts/generate-workload-api-types.js [outDir]
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const outDir = path.resolve(root, process.argv[2] ?? 'src/spiffe/workload/generated');
const generator = require.resolve('@grpc/proto-loader/build/bin/proto-loader-gen-types.js', { paths: [root] });

fs.rmSync(outDir, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [
    generator,
    '--keepCase',
    '--defaults',
    '--oneofs',
    '--grpcLib=@grpc/grpc-js',
    '--includeComments',
    '--outputTemplate=%s',
    '--inputTemplate=Outgoing%s',
    '--includeDirs=proto',
    `--outDir=${outDir}`,
    'spiffe/workload/workload.proto',
  ],
  // The generator names its input relative to the working directory in each file's header.
  { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
);
