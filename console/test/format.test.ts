import { describe, expect, test } from 'vitest';
import {
  appendLog, elapsed, formatDuration, formatLabels, formatTime, formatValue, parseLabels, parseParameter, relativeTime, runTitle,
} from '../src/format';

describe('durations', () => {
  test.each([
    [0, '0 ms'],
    [450, '450 ms'],
    [1234, '1.2 s'],
    [12_300, '12 s'],
    [185_000, '3m 05s'],
    [3_720_000, '1h 02m'],
    [183_600_000, '2d 03h'],
    [-5, '—'],
    [Number.NaN, '—'],
  ])('%d ms is %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  test('elapsed runs until now while there is no end', () => {
    const now = Date.parse('2026-01-01T00:01:00.000Z');
    expect(elapsed('2026-01-01T00:00:00.000Z', null, now)).toBe('1m 00s');
    expect(elapsed('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:02.500Z', now)).toBe('2.5 s');
    expect(elapsed(null, null, now)).toBe('—');
  });
});

describe('times', () => {
  test('an ISO time is shown as date and time in the given zone', () => {
    expect(formatTime('2026-03-04T05:06:07.089Z', { timeZone: 'UTC' })).toBe('2026-03-04 05:06:07');
    expect(formatTime('2026-03-04T05:06:07.089Z', { timeZone: 'UTC', ms: true })).toBe('2026-03-04 05:06:07.089');
    expect(formatTime('2026-03-04T23:30:00.000Z', { timeZone: 'Asia/Tokyo' })).toBe('2026-03-05 08:30:00');
    expect(formatTime(null)).toBe('—');
    expect(formatTime('not a time')).toBe('not a time');
  });

  test('relative times', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(relativeTime('2026-01-01T11:57:00Z', now)).toBe('3 minutes ago');
    expect(relativeTime('2026-01-01T09:00:00Z', now)).toBe('3 hours ago');
    expect(relativeTime('2025-12-30T12:00:00Z', now)).toBe('2 days ago');
  });
});

describe('labels', () => {
  test('are written key=value, sorted', () => {
    expect(formatLabels({ team: 'red', env: 'prod' })).toEqual(['env=prod', 'team=red']);
  });

  test('parse from commas or lines; a part without = is a problem', () => {
    expect(parseLabels('team=red, stage = prod\nempty=')).toEqual({ labels: { team: 'red', stage: 'prod', empty: '' } });
    expect(parseLabels('')).toEqual({ labels: {} });
    expect(parseLabels('team')).toEqual({ error: '"team" is not key=value' });
    expect(parseLabels('=x')).toEqual({ error: '"=x" is not key=value' });
  });
});

describe('parameters', () => {
  test.each([
    ['Integer', '42', { value: 42 }],
    ['Integer', '-3', { value: -3 }],
    ['Integer', '4.5', { error: 'must be a whole number' }],
    ['Float', '0.25', { value: 0.25 }],
    ['Float', 'abc', { error: 'must be a number' }],
    ['Boolean', 'true', { value: true }],
    ['Boolean', 'yes', { error: 'must be true or false' }],
    ['String', ' keep spaces ', { value: ' keep spaces ' }],
    ['Integer', '  ', {}],
  ])('%s %j', (type, text, result) => expect(parseParameter(type, text)).toEqual(result));
});

describe('values and names', () => {
  test('values', () => {
    expect(formatValue('x')).toBe('x');
    expect(formatValue(3)).toBe('3');
    expect(formatValue({ a: [1] })).toBe('{"a":[1]}');
    expect(formatValue(null)).toBe('—');
  });

  test('a run is named by its display name, else its id', () => {
    expect(runTitle({ id: 'abc', displayName: 'nightly' })).toBe('nightly');
    expect(runTitle({ id: 'abc', displayName: '  ' })).toBe('abc');
    expect(runTitle({ id: 'abc', displayName: null })).toBe('abc');
  });
});

describe('log tail', () => {
  test('keeps the newest text from a line start when over the limit', () => {
    expect(appendLog('a\n', 'b\n', 10)).toEqual({ text: 'a\nb\n', truncated: false });
    const r = appendLog('line1\nline2\n', 'line3\n', 10);
    expect(r).toEqual({ text: 'line3\n', truncated: true });
  });
});
