#!/usr/bin/env node
// CommonJS, and nothing but the kit's start: every tool starts the same way
// (packages/kit/src/start.cts says what that saves, and why the kit is found
// here by path, not through its package exports).
'use strict'
const start = module.paths.map((dir) => `${dir}/@mantle/kit/dist/start.cjs`).find(require('node:fs').existsSync)
require(start ?? '@mantle/kit/start').run('kola', __filename)
