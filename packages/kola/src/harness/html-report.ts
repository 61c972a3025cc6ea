import {readdir, readFile, writeFile} from 'node:fs/promises'
import {join, relative, sep} from 'node:path'

import {scanText, type SignatureHit} from '../services/signatures.js'
import {formatSeconds, type TestRecord} from './h.js'
import type {ReportInfo} from './reports.js'

/** A machine's log files, as paths relative to the report's directory. */
export interface MachineLinks {
  machine: string
  console?: string | undefined
  journal?: string | undefined
}

/** What the page shows of one test beyond its record: its machines' logs and the failure signatures in them. */
export interface TestArtifacts {
  machines: MachineLinks[]
  signatures: SignatureHit[]
}

export interface HtmlReportInput extends ReportInfo {
  /** Wall time of the whole run; absent: the sum of the tests' durations. */
  durationMs?: number | undefined
  /** By test name. */
  artifacts: ReadonlyMap<string, TestArtifacts>
}

/**
 * `reports/report.html`: one self-contained page (no script, stylesheet or
 * font from anywhere else; the rows expand with `<details>`, so it works with
 * scripts off too) for the person reading a run. Fed from the same records
 * as report.json and junit.xml; kept apart from them so that each format can
 * change on its own.
 */
export function htmlReport(input: HtmlReportInput): string {
  const top = input.records.filter((r) => !r.subtest)
  // Warnings: warn-only tests that failed (not failures of the run, as kola's exit code has it), and
  // signatures in the logs of tests that did not fail (a test that opted out of the check); in a
  // failed test they are its failure.
  const signatures = input.records
    .filter((r) => r.result !== 'FAIL')
    .reduce((n, r) => n + (input.artifacts.get(r.name)?.signatures.length ?? 0), 0)
  const warnings = signatures + top.filter((r) => r.result === 'FAIL' && r.warn).length
  const duration = input.durationMs ?? top.reduce((s, r) => s + r.durationMs, 0)
  const count = (p: (r: TestRecord) => boolean): number => top.filter(p).length
  const summary = [
    ['passed', count((r) => r.result === 'PASS' && !r.flake)],
    ['failed', count((r) => r.result === 'FAIL' && !r.warn)],
    ['flaky', count((r) => r.flake === true)],
    ['skipped', count((r) => r.result === 'SKIP')],
    ['warnings', warnings],
  ] as Array<readonly [string, number]>
  // Tests cut short by a stopped run: neither passed nor failed, shown only when there are some.
  const cutShort = count((r) => r.result !== 'PASS' && r.result !== 'FAIL' && r.result !== 'SKIP')
  if (cutShort > 0) summary.push(['interrupted', cutShort])
  const title = `kola ${input.platform}: ${input.result}`
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>kola run on ${esc(input.platform)} <span class="badge ${input.result}">${esc(input.result)}</span></h1>
<p id="summary" class="summary">${summary.map(([k, v]) => `<span class="${k}"><b>${v}</b> ${k}</span>`).join(' · ')} · <span class="duration">${esc(formatSeconds(duration))}</span> · kola ${esc(input.version)}</p>
<table id="tests">
<thead><tr><th>status</th><th>test</th><th>duration</th><th>reason</th></tr></thead>
<tbody>
${ordered(input.records)
  .map((r) => row(r, input.artifacts.get(r.name)))
  .join('\n')}
</tbody>
</table>
</body>
</html>
`
}

/** Failed tests first, then flakes, passes and skips; each test's subtests right under it, in the same order. */
export function ordered(records: readonly TestRecord[]): TestRecord[] {
  const rank = (r: TestRecord): number => {
    switch (r.result) {
      case 'FAIL':
        return r.warn ? 1 : 0
      case 'PASS':
        return r.flake ? 2 : 3
      case 'SKIP':
        return 4
      default:
        // Neither passed nor failed (a test cut short by a stopped run).
        return 1
    }
  }
  const byRank = (list: TestRecord[]): TestRecord[] =>
    list
      .map((r, i) => ({r, i}))
      .sort((a, b) => rank(a.r) - rank(b.r) || a.i - b.i)
      .map((x) => x.r)
  const children = (parent: string): TestRecord[] =>
    records.filter((r) => r.subtest && r.name.startsWith(`${parent}/`) && !r.name.slice(parent.length + 1).includes('/'))
  const walk = (list: TestRecord[]): TestRecord[] => byRank(list).flatMap((r) => [r, ...walk(children(r.name))])
  const named = new Set(records.map((r) => r.name))
  // A subtest whose parent has no record (a partial run) still gets a row.
  return walk(records.filter((r) => !r.subtest || !named.has(r.name.slice(0, r.name.lastIndexOf('/')))))
}

function row(r: TestRecord, artifacts: TestArtifacts | undefined): string {
  const status = r.flake ? 'FLAKE' : r.warn ? 'WARN' : r.result
  const depth = r.subtest ? r.name.split('/').length - 1 : 0
  const links = (artifacts?.machines ?? []).map((m) => {
    const files = [m.console ? link(m.console, 'console.txt') : '', m.journal ? link(m.journal, 'journal.txt') : '']
      .filter(Boolean)
      .join(' ')
    return `<li>machine ${esc(m.machine)}: ${files}</li>`
  })
  const signatures = (artifacts?.signatures ?? []).map(
    (s) => `<li><b>${esc(s.description)}</b> in ${esc(s.source)}: <code>${esc(s.match)}</code></li>`,
  )
  const body = [
    r.output ? `<pre class="output">${esc(r.output)}</pre>` : '<p class="none">no output</p>',
    signatures.length ? `<h4>failure signatures</h4><ul class="signatures">${signatures.join('')}</ul>` : '',
    links.length ? `<h4>machines</h4><ul class="machines">${links.join('')}</ul>` : '',
  ].join('')
  return `<tr class="test ${status}" data-name="${esc(r.name)}" data-status="${status}">
<td><span class="badge ${status}">${status}</span></td>
<td style="padding-left:${0.5 + depth * 1.5}em"><details${r.result === 'FAIL' && !r.subtest ? ' class="failed"' : ''}><summary>${esc(r.name)}</summary>${body}</details></td>
<td class="num">${esc(formatSeconds(r.durationMs))}</td>
<td>${esc(reason(r))}</td>
</tr>`
}

function reason(r: TestRecord): string {
  switch (r.result) {
    case 'PASS':
      return r.flake ? 'failed, then passed on rerun' : ''
    case 'SKIP':
      return r.skipReason ?? ''
    default:
      return `${r.failure && r.failure !== 'test' ? `${r.failure}: ` : ''}${r.message ?? firstLine(r.output) ?? 'did not pass'}`
  }
}

function firstLine(s: string): string | undefined {
  return s.split('\n').find((l) => l.trim().length > 0)
}

function link(href: string, text: string): string {
  return `<a href="${esc(href.split(sep).map(encodeURIComponent).join('/'))}">${esc(text)}</a>`
}

function esc(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/**
 * Finds each test's machines (directories holding console.txt or
 * journal.txt under `<outputDir>/<test name>`, not counting its subtests' own
 * directories; also under `rerun/` when the test ran again) and scans their
 * logs for failure signatures. Links are relative to `reportDir`.
 */
export async function collectArtifacts(
  outputDir: string,
  reportDir: string,
  records: readonly TestRecord[],
): Promise<Map<string, TestArtifacts>> {
  const names = new Set(records.map((r) => r.name))
  const result = new Map<string, TestArtifacts>()
  for (const r of records) {
    const machines = new Map<string, MachineLinks>()
    const signatures: SignatureHit[] = []
    for (const base of [outputDir, join(outputDir, 'rerun')]) {
      const dir = join(base, r.name)
      const entries = await readdir(dir, {withFileTypes: true, recursive: true}).catch(() => [])
      for (const e of entries.sort((a, b) => join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)))) {
        if (!e.isFile() || (e.name !== 'console.txt' && e.name !== 'journal.txt')) continue
        const machineDir = relative(dir, e.parentPath)
        // Directories named after a subtest belong to that subtest's row.
        if (machineDir.split(sep).some((_, i, parts) => names.has(`${r.name}/${parts.slice(0, i + 1).join('/')}`))) continue
        const file = join(e.parentPath, e.name)
        const machine = `${base === outputDir ? '' : 'rerun: '}${machineDir || '.'}`
        const links = machines.get(machine) ?? {machine}
        links[e.name === 'console.txt' ? 'console' : 'journal'] = relative(reportDir, file)
        machines.set(machine, links)
        for (const hit of scanText(await readFile(file, 'utf8').catch(() => ''), relative(outputDir, file))) {
          // The kernel's messages reach both files: each finding once per machine.
          if (
            !signatures.some((s) => s.description === hit.description && s.source.startsWith(join(relative(outputDir, e.parentPath), sep)))
          )
            signatures.push(hit)
        }
      }
    }
    if (machines.size > 0 || signatures.length > 0) result.set(r.name, {machines: [...machines.values()], signatures})
  }
  return result
}

/** Writes `path` (in the run's reports directory) from the run's records and the files under its output directory. */
export async function writeHtmlReport(
  path: string,
  outputDir: string,
  info: ReportInfo & {durationMs?: number | undefined},
): Promise<void> {
  const reportDir = join(path, '..')
  const artifacts = await collectArtifacts(outputDir, reportDir, info.records)
  await writeFile(path, htmlReport({...info, artifacts}))
}

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#1b1f24;background:#fff}
h1{font-size:1.3em;margin:0 0 .4em}
h4{margin:.6em 0 .2em;font-size:.95em}
.summary{font-size:1.05em;margin:0 0 1em}
.summary .failed b{color:#b3261e}.summary .passed b{color:#1a7f37}.summary .flaky b{color:#9a6700}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.3em .5em;border-bottom:1px solid #d8dee4}
th{background:#f6f8fa}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
summary{cursor:pointer;font-family:ui-monospace,monospace}
pre.output{background:#f6f8fa;border:1px solid #d8dee4;padding:.5em;max-height:40em;overflow:auto;white-space:pre-wrap;word-break:break-all}
.badge{display:inline-block;padding:0 .5em;border-radius:1em;font-size:.85em;font-weight:600;color:#fff;background:#57606a}
.badge.PASS{background:#1a7f37}.badge.FAIL{background:#b3261e}.badge.FLAKE{background:#9a6700}.badge.SKIP{background:#8c959f}.badge.WARN{background:#9a6700}
tr.FAIL{background:#fff5f5}
.none{color:#57606a;margin:.3em 0}
ul{margin:.2em 0;padding-left:1.2em}
`
