import { describe, expect, test } from 'vitest';
import { ApiError, eventsUrl, logUrl, runsQueryString, toApiError } from '../src/api';

describe('API requests', () => {
  test('the runs query carries the filters and the page', () => {
    expect(runsQueryString({})).toBe('');
    expect(runsQueryString({ pipeline: 'train', states: ['Running', 'Queued'], labels: { team: 'red', 'a/b': 'x y' }, pageSize: 50, pageToken: 't1' }))
      .toBe('?pipeline=train&state=Running%2CQueued&label=team%3Dred&label=a%2Fb%3Dx+y&pageSize=50&pageToken=t1');
  });

  test('log and event URLs', () => {
    expect(logUrl('r1', 'my step', 'stderr', 2, true)).toBe('/api/v1/runs/r1/steps/my%20step/logs?stream=stderr&attempt=2&follow=true');
    expect(logUrl('r1', 's', 'stdout', 1, false)).toBe('/api/v1/runs/r1/steps/s/logs?stream=stdout&attempt=1');
    expect(eventsUrl()).toBe('/api/v1/events');
    expect(eventsUrl('r1', 0)).toBe('/api/v1/events?run=r1&after=0');
  });
});

describe('API errors', () => {
  test('problem details become title, detail and problems', () => {
    const e = toApiError(400, 'Bad Request', JSON.stringify({
      type: 'about:blank', title: 'InvalidArgument', status: 400, detail: 'the request has 1 problem',
      problems: [{ path: 'labels', message: 'too long' }],
    }));
    expect(e).toBeInstanceOf(ApiError);
    expect(e.title).toBe('InvalidArgument');
    expect(e.detail).toBe('the request has 1 problem');
    expect(e.problems).toEqual([{ path: 'labels', message: 'too long' }]);
    expect(e.message).toBe('InvalidArgument: the request has 1 problem');
  });

  test('a body that is not problem details keeps the status and the text', () => {
    const e = toApiError(502, 'Bad Gateway', '<html>proxy</html>');
    expect(e.status).toBe(502);
    expect(e.title).toBe('Bad Gateway');
    expect(e.detail).toBe('<html>proxy</html>');
  });
});
