#!/usr/bin/env node
// CommonJS, and nothing but the kit's start: every tool starts the same way
// (packages/kit/src/start.cts says what that saves and why).
'use strict'
require('@mantle/kit/start').run('kola', __filename)
