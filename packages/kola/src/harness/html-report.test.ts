import {existsSync} from 'node:fs'
import {mkdir, readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {isolatedEnv, runCli} from '@mantle/test-utils'
import {chromium} from 'playwright-core'
import {describe, expect, it} from 'vitest'

import {TESTDATA, useTempDir} from '../testing/vm.js'
import type {TestRecord} from './h.js'
import {collectArtifacts, htmlReport, ordered} from './html-report.js'

const tempDir = useTempDir()
const rec = (r: Partial<TestRecord> & {name: string; result: TestRecord['result']}): TestRecord => ({
  durationMs: 1500,
  output: '',
  subtest: false,
  ...r,
})
const CHROMIUM = '/usr/bin/chromium'

describe('report.html', () => {
  it('orders failed tests first, each followed by its subtests, and escapes what tests printed', () => {
    // Given a passing test, a failing one with a failing subtest, a skipped one, a flake and a failed warn-only test
    const records = [
      rec({name: 'a', result: 'PASS'}),
      rec({name: 'b/sub', result: 'FAIL', output: '<script>alert(1)</script>', subtest: true}),
      rec({name: 'b', result: 'FAIL', message: 'b/sub: <boom>', output: '<script>alert(1)</script>'}),
      rec({name: 'c', result: 'SKIP', skipReason: 'denylisted'}),
      rec({name: 'd', result: 'PASS', flake: true}),
      rec({name: 'e', result: 'FAIL', warn: true, message: 'new test'}),
    ]

    // When the page is made from them
    const html = htmlReport({platform: 'qemu', version: '1.0', result: 'FAIL', records, artifacts: new Map()})

    // Then the rows go failed, subtest, flake, pass, skip; nothing printed becomes markup; the summary counts top-level tests
    expect(ordered(records).map((r) => r.name)).toEqual(['b', 'b/sub', 'e', 'd', 'a', 'c'])
    expect([...html.matchAll(/data-name="([^"]+)"/g)].map((m) => m[1])).toEqual(['b', 'b/sub', 'e', 'd', 'a', 'c'])
    // A warn-only test that failed is a warning, not a failure of the run
    expect(html).toContain('<tr class="test WARN" data-name="e" data-status="WARN">')
    expect(html).not.toContain('<script>')
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;')
    const summary = /<p id="summary"[^>]*>(.*)<\/p>/.exec(html)?.[1]?.replace(/<[^>]+>/g, '')
    expect(summary).toBe('1 passed · 1 failed · 1 flaky · 1 skipped · 1 warnings · 7.50s · kola 1.0')
  })

  it('links each machine of a test to its console.txt and journal.txt and lists the signatures found in them', async () => {
    // Given a run directory with a test whose machine's console shows a kernel panic, and a subtest with its own machine
    const out = tempDir()
    await mkdir(join(out, 't', 'm1'), {recursive: true})
    await writeFile(join(out, 't', 'm1', 'console.txt'), 'Kernel panic - not syncing: VFS\n')
    await writeFile(join(out, 't', 'm1', 'journal.txt'), 'Kernel panic - not syncing: VFS\n')
    await mkdir(join(out, 't', 'sub', 'm2'), {recursive: true})
    await writeFile(join(out, 't', 'sub', 'm2', 'console.txt'), 'fine\n')
    const records = [rec({name: 't', result: 'FAIL'}), rec({name: 't/sub', result: 'PASS', subtest: true})]

    // When the artifacts are collected for the reports directory
    const artifacts = await collectArtifacts(out, join(out, 'reports'), records)

    // Then the test links its own machine (not its subtest's), relative to reports/, with the panic once per machine
    expect(artifacts.get('t')).toEqual({
      machines: [{machine: 'm1', console: '../t/m1/console.txt', journal: '../t/m1/journal.txt'}],
      signatures: [{description: 'kernel panic', match: 'Kernel panic - not syncing: VFS', source: 't/m1/console.txt'}],
    })
    expect(artifacts.get('t/sub')).toEqual({machines: [{machine: 'm2', console: '../t/sub/m2/console.txt'}], signatures: []})
  })

  it(
    'is written by every kola run and reads in headless Chromium: summary, failed first, output expands on click',
    {timeout: 10 * 60_000},
    async () => {
      // Given a run of machineless tests: a pass, a failure, a flake, a kernel panic, and a panic the test opts out of
      const dir = tempDir()
      const out = join(dir, '_html_temp')
      const result = await runCli(
        'kola',
        ['run', '--rerun', '--tests-dir', join(TESTDATA, 'machineless'), '--output-dir', out, 'nomachine.*'],
        {
          env: isolatedEnv(join(dir, 'home'), {KOLA_FLAKE_MARKER: join(dir, 'flake-marker')}),
        },
      )
      expect(result.stderr).not.toMatch(/internal error/)
      expect(result.code).toBe(1)
      const page = join(out, 'reports', 'report.html')
      expect(existsSync(join(out, 'reports', 'report.json'))).toBe(true)
      // Nothing from anywhere else: no script, stylesheet, image or font to fetch
      expect(await readFile(page, 'utf8')).not.toMatch(/\b(?:src|href)="(?:https?:)?\/\//)

      // When Chromium opens it from the file system, with no network
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      })
      try {
        const context = await browser.newContext({offline: true})
        const tab = await context.newPage()
        const requests: string[] = []
        tab.on('request', (r) => requests.push(r.url()))
        await tab.goto(`file://${page}`)

        // Then the summary counts the run: the opted-out panic is the one warning
        const summary = await tab.locator('#summary').innerText()
        expect(summary).toMatch(/2 passed · 2 failed · 1 flaky · 0 skipped · 1 warnings · [\d.]+s/)
        // And the failed tests come first, with their reasons
        const statuses = await tab.locator('tr.test').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')))
        expect(statuses.slice(0, 2)).toEqual(['FAIL', 'FAIL'])
        const failed = tab.locator('tr.test[data-name="nomachine.fails"]')
        await expect.poll(() => failed.locator('td').nth(3).innerText()).toContain('fails on purpose')
        // And a failed test's output is hidden until its row is clicked
        const output = failed.locator('pre.output')
        expect(await output.isVisible()).toBe(false)
        await failed.locator('summary').click()
        expect(await output.isVisible()).toBe(true)
        expect(await output.innerText()).toContain('fails on purpose')
        // And the panicking test names its signature and links its machine's console, which exists
        const panics = tab.locator('tr.test[data-name="nomachine.panics"]')
        await panics.locator('summary').click()
        expect(await panics.locator('ul.signatures').innerText()).toContain('kernel panic')
        const href = await panics.locator('ul.machines a').first().getAttribute('href')
        expect(href).toBe('../nomachine.panics/fake-machine/console.txt')
        expect(existsSync(join(out, 'reports', href!))).toBe(true)
        // And the page asked for nothing but itself
        expect(requests).toEqual([`file://${page}`])

        const shot = join(out, 'report.png')
        await tab.screenshot({path: shot, fullPage: true})
        expect((await stat(shot)).size).toBeGreaterThan(1000)
      } finally {
        await browser.close()
      }
    },
  )
})
