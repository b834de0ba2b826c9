/**
 * Interconnect profiles are named by the topology they model (link-GPUs per node-NICs per
 * node); --help and the report say what each models; the old names still read, as the same
 * profile, with a note (issue 21: nothing said that ib-hdr is PCIe inside the node and one NIC).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INTERCONNECTS, INTERCONNECT_ALIASES, aliasNote, canonicalInterconnect, interconnect } from '../src/model/comm.js';
import { USAGE, interconnectNotes, planRun } from '../src/run-args.js';
import { profileLines } from '../src/report/data.js';
import { markdownSummary } from '../src/report/markdown.js';
import { loadResults } from '../src/report/hook.js';
import { FIXTURE } from './fixtures/report-helpers.js';

/** Bytes/s of one NIC of each InfiniBand generation (100, 200, 400 Gb/s). */
const NIC = { edr: 12.5e9, hdr: 25e9, ndr: 50e9 } as const;

test('each built-in name states its topology, and its figures agree with the name', () => {
  for (const [name, p] of Object.entries(INTERCONNECTS)) {
    const m = /^(pcie|nvlink|nvswitch)(\d)-(\d+)gpu-(\d+)x(edr|hdr|ndr)$/.exec(name);
    assert.ok(m, `${name} is not link-GPUs-NICs`);
    assert.equal(p.name, name);
    assert.equal(p.gpusPerNode, Number(m[3]), `${name}: GPUs per node`);
    const nics = Number(m[4]);
    const rate = NIC[m[5] as keyof typeof NIC];
    assert.ok(p.interNodeBandwidth <= nics * rate, `${name}: ${p.interNodeBandwidth} B/s between nodes is more than ${nics} x ${m[5]}`);
    assert.ok(p.interNodeBandwidth >= 0.7 * nics * rate, `${name}: ${p.interNodeBandwidth} B/s is far below ${nics} x ${m[5]}`);
    const words = { 1: 'one', 4: 'four', 8: 'eight' }[nics];
    assert.match(p.description, new RegExp(`within ${m[3]} GPUs.*${words} \\d+ Gb/s ${m[5].toUpperCase()} NICs? per node`), `${name}: ${p.description}`);
  }
});

test('old names read as the same profile they always were, and get a note', () => {
  const before: Record<string, [number, number, number]> = {
    'pcie-gen3': [10e9, 10e9, 10e-6],
    'nvlink-v100': [130e9, 40e9, 8e-6],
    'nvlink-a100': [230e9, 180e9, 6e-6],
    'nvlink-h100': [370e9, 360e9, 5e-6],
    'ib-hdr': [20e9, 22e9, 8e-6],
    'ib-ndr': [40e9, 45e9, 6e-6],
  };
  assert.deepEqual(Object.keys(INTERCONNECT_ALIASES).sort(), Object.keys(before).sort());
  for (const [old, [intra, inter, alpha]] of Object.entries(before)) {
    const p = interconnect(old);
    assert.deepEqual([p.intraNodeBandwidth, p.interNodeBandwidth, p.alpha], [intra, inter, alpha], old);
    assert.equal(p.name, canonicalInterconnect(old));
    assert.match(aliasNote(old)!, new RegExp(`'${old}' is the old name of '${p.name}'`));
  }
  assert.match(aliasNote('ib-hdr')!, /PCIe gen4 within 8 GPUs.*one 200 Gb\/s HDR NIC per node/);
  const plan = planRun('run', ['--interconnect', 'ib-hdr', '--classes', '1k'])!;
  assert.equal(plan.specs[0].interconnect, 'ib-hdr', 'a scenario or command line with an old name still parses');
  assert.deepEqual(interconnectNotes(plan.specs), [aliasNote('ib-hdr')]);
  assert.deepEqual(interconnectNotes(planRun('run', ['--classes', '1k'])!.specs), [], 'the default is a current name');
});

test('--help lists every profile with what it models, and the old names', () => {
  for (const p of Object.values(INTERCONNECTS)) assert.ok(USAGE.includes(`${p.name.padEnd(22)} ${p.description}`), p.name);
  for (const [old, now] of Object.entries(INTERCONNECT_ALIASES)) assert.ok(USAGE.includes(`${old} = ${now}`), old);
});

test('the report says what the profile of its emulated cells models, an old name read as the new one', () => {
  const files = loadResults([FIXTURE]);
  assert.equal(files[0].file.cells[0].spec.interconnect, 'pcie-gen3', 'the fixture was recorded with the old name');
  const lines = profileLines(files[0].file.cells);
  assert.deepEqual(lines, [`pcie3-8gpu-1xedr: ${INTERCONNECTS['pcie3-8gpu-1xedr'].description}`]);
  assert.ok(markdownSummary(files).includes(`- ${lines[0]}`));
  const four = files[0].file.cells.map((c) => ({ ...c, communication: undefined, spec: { ...c.spec, gpusPerNode: 4 } }));
  assert.match(profileLines(four)[0], /run with --gpus-per-node 4, not the 8 its name says/);
});
