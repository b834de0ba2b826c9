/**
 * The command line of predictions: `pfc-bench plan` exits 0 with its one screen and chart;
 * `run --mode predict` writes results whose every figure says predicted; bad --target,
 * --backbone and --reserve are usage errors naming the option (exit 2); compare refuses a
 * predicted results file; the GPU check's summary prints predicted beside measured.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseResultsFile } from '../src/bench/results.js';
import { packageRoot } from '../src/core/binding.js';

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function pfc(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function withDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'pfc-predict-cli-'));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('plan --target a100-80gb --gpus 8 --classes 5M --backbone r100: exit 0, one screen per strategy and rate, a chart SVG', () => {
  withDir((dir) => {
    const chart = join(dir, 'plan.svg');
    const r = pfc('plan', '--target', 'a100-80gb', '--gpus', '8', '--classes', '5M', '--backbone', 'r100', '--chart', chart, '--json');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /PREDICTED on a100-80gb: no kernel ran/);
    assert.match(r.out, /5\.0M identities on 8 x a100-80gb/);
    for (const header of ['GB/GPU ours', 'Headroom ours', 'Step ms ours', 'img/s ours', 'Capacity ours']) assert.ok(r.out.includes(header), header);
    const table = r.out.split('\n').filter((l) => /^(model-parallel|partial-fc) /.test(l));
    assert.deepEqual(table.map((l) => l.split(/\s+/).slice(0, 2).join(' ')), ['model-parallel 1', 'partial-fc 0.05', 'partial-fc 0.1', 'partial-fc 0.2', 'partial-fc 0.3', 'partial-fc 0.5']);
    const rows = JSON.parse(r.out.slice(r.out.indexOf('\n[') + 1)) as { strategy: string; sampleRate: number; capacity: { ours: number; pytorch: number }; ours: { totalBytes: number; stepMs: number }; pytorch: { totalBytes: number } }[];
    const mp = rows[0];
    const pfc01 = rows.find((x) => x.sampleRate === 0.1)!;
    // Partial FC fits more identities and steps faster than model parallel; the capacity is past the 5M asked for.
    assert.ok(pfc01.capacity.ours > mp.capacity.ours && mp.capacity.ours > 5e6);
    assert.ok(pfc01.ours.stepMs < mp.ours.stepMs && pfc01.ours.totalBytes < mp.ours.totalBytes);
    assert.ok(existsSync(chart));
    const svg = readFileSync(chart, 'utf8');
    assert.match(svg, /^<svg|<\?xml/);
    assert.match(svg, /Predicted on a100-80gb/);
    assert.match(svg, /sample rate/);
  });
});

test('plan and run --mode predict: bad --target, --backbone, --reserve are usage errors naming the option', () => {
  const cases: [string[], RegExp][] = [
    [['plan', '--target', 'a100', '--classes', '5M'], /--target: unknown target 'a100'/],
    [['plan', '--classes', '5M'], /--target: plan needs a GPU target/],
    [['plan', '--target', 'a100-80gb'], /--classes: plan needs the identity count/],
    [['plan', '--target', 'a100-80gb', '--classes', '5M', '--backbone', 'r34'], /--backbone: unknown backbone 'r34'; expected one of none, r50, r100/],
    [['plan', '--target', 'a100-80gb', '--classes', '5M', '--reserve', 'lots'], /--reserve: expected a size/],
    [['run', '--mode', 'predict', '--classes', '1M'], /--target: --mode predict needs a GPU target/],
    [['run', '--mode', 'predict', '--target', 'h300'], /--target: unknown target 'h300'.*did you mean 'h200'/],
    [['run', '--mode', 'predict', '--target', 'h200', '--backbone', 'resnet50'], /--backbone: unknown backbone 'resnet50'/],
    [['run', '--mode', 'predict', '--target', 'h200', '--reserve', '-1GB'], /--reserve: expected a size/],
    [['run', '--mode', 'emulate', '--target', 'h200'], /--target: applies to --mode predict/],
    [['run', '--backbone', 'r50'], /--backbone: applies to --mode predict/],
  ];
  for (const [args, pattern] of cases) {
    const r = pfc(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.err}`);
    assert.match(r.err, pattern, args.join(' '));
    assert.doesNotMatch(r.err, /at .*\.js:\d+/, 'no stack trace');
  }
});

test('run --mode predict writes results labelled predicted, with PyTorch beside ours; compare refuses them (exit 2)', () => {
  withDir((dir) => {
    const out = join(dir, 'predicted.json');
    const r = pfc('run', '--mode', 'predict', '--target', 'v100-32gb', '--backbone', 'r50', '--classes', '1M', '--strategy', 'model-parallel,partial-fc', '--interconnect', 'nvlink-v100', '--out', out, '--quiet', '--no-report');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /\^ predicted on v100-32gb: no kernel ran/);
    const results = parseResultsFile(readFileSync(out, 'utf8'), out);
    assert.equal(results.cells.length, 2);
    for (const cell of results.cells) {
      assert.equal(cell.status, 'completed');
      assert.equal(cell.spec.mode, 'predict');
      assert.equal(cell.spec.target, 'v100-32gb');
      assert.match(cell.device!, /^predicted on v100-32gb/);
      assert.ok(cell.prediction!.pytorch && cell.prediction!.backboneMs > 0);
      assert.equal(cell.timing!.stepMs.median, cell.prediction!.ours.stepMs);
    }
    const c = pfc('compare', out, out);
    assert.equal(c.code, 2);
    assert.match(c.err, /BASELINE: .*holds 2 predicted cell\(s\).*refuses to judge predictions/);
    // A measured baseline against a predicted current: refused too, naming CURRENT.
    const measured = join(packageRoot(), 'reports', 'reference', 'seed-cpu.json');
    const d = pfc('compare', measured, out);
    assert.equal(d.code, 2);
    assert.match(d.err, /CURRENT: /);
  });
});

test("the GPU check's summary prints the step predicted for that GPU beside the measured one, per phase", () => {
  withDir((dir) => {
    // A committed CPU run relabelled as an H200 run: the summary matches the device to the h200 target.
    const results = JSON.parse(readFileSync(join(packageRoot(), 'reports', 'reference', 'seed-cpu.json'), 'utf8'));
    for (const cell of results.cells) Object.assign(cell, { backend: 'cuda', device: 'NVIDIA H200 (sm_90)' });
    const path = join(dir, 'gpu.json');
    writeFileSync(path, JSON.stringify(results));
    const r = spawnSync(process.execPath, [join(packageRoot(), 'dist', 'scripts', 'gpu-summary.js'), path], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l.includes('predicted on h200 / measured'));
    assert.equal(lines.length, results.cells.filter((c: { status: string }) => c.status === 'completed').length);
    for (const line of lines) for (const phase of ['gemm', 'softmax', 'communication']) assert.match(line, new RegExp(`${phase} [\\d.]+ / [\\d.]+`));
  });
});

test('capacity --mode predict is refused (capacity allocates for real), pointing to plan', () => {
  const r = pfc('capacity', '--mode', 'predict', '--target', 'h200', '--gpu-memory', '80GiB');
  assert.equal(r.code, 2);
  assert.match(r.err, /--mode: capacity confirms its answer by allocating.*pfc-bench plan/);
});

test('every chart of a report of predicted cells says PREDICTED and names the target', async () => {
  const { renderReport } = await import('../src/report/hook.js');
  const dir = mkdtempSync(join(tmpdir(), 'pfc-predict-charts-'));
  try {
    const out = await renderReport([join(packageRoot(), 'reports', 'reference', 'predict', 'seed-rtx-2080ti.json')], { formats: ['svg'], outDir: dir });
    assert.ok(out.charts.length >= 2, `${out.charts.length} charts`);
    for (const chart of out.charts) {
      const svg = readFileSync(chart.svg!, 'utf8');
      assert.match(svg, /PREDICTED on rtx-2080ti/, chart.name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
