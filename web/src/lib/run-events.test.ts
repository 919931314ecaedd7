import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { FakeEventSource } from '@/testing/fake-event-source';

import { RunEventStream, type RunEvent } from './run-events';
import { setToken } from './token';

describe('RunEventStream', () => {
  beforeEach(() => {
    FakeEventSource.reset();
    vi.stubGlobal('EventSource', FakeEventSource);
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('shares one connection, parses named events and closes with the last listener', () => {
    const stream = new RunEventStream({ kind: 'sse' });
    const a: RunEvent[] = [];
    const b: RunEvent[] = [];
    const offA = stream.subscribe((e) => a.push(e));
    const offB = stream.subscribe((e) => b.push(e));
    expect(FakeEventSource.instances).toHaveLength(1);
    const source = FakeEventSource.latest();
    source.open();
    expect(stream.getStatus()).toBe('open');
    source.emit('run.queued', { type: 'run.queued', run_id: 'r1', dataset: 'd', batch_id: 'b', at: 'T', message: 'm', data: {} }, 4);
    expect(a).toEqual([{ id: '4', type: 'run.queued', run_id: 'r1', dataset: 'd', batch_id: 'b', at: 'T', message: 'm', data: {} }]);
    expect(b).toHaveLength(1);
    offA();
    expect(source.readyState).not.toBe(FakeEventSource.CLOSED);
    offB();
    expect(source.readyState).toBe(FakeEventSource.CLOSED);
    expect(stream.getStatus()).toBe('idle');
  });

  it('reconnects after a refused stream and asks listeners to resynchronise', () => {
    const stream = new RunEventStream({ kind: 'sse' });
    const resync = vi.fn();
    stream.subscribe(() => {});
    stream.onResync(resync);
    FakeEventSource.latest().open();
    FakeEventSource.latest().fail(true);
    expect(stream.getStatus()).toBe('reconnecting');
    vi.advanceTimersByTime(1000);
    expect(FakeEventSource.instances).toHaveLength(2);
    expect(FakeEventSource.latest().url).toBe('/api/events'); // nothing seen yet: no replay id
    FakeEventSource.latest().open();
    expect(resync).toHaveBeenCalledTimes(1);
    stream.close();
  });

  it('asks for a replay after the last event seen when it reopens the stream itself', () => {
    const stream = new RunEventStream({ kind: 'sse' });
    stream.subscribe(() => {});
    FakeEventSource.latest().open();
    FakeEventSource.latest().emit('run.stage', { type: 'run.stage', run_id: 'r1', data: {} }, 41);
    FakeEventSource.latest().fail(true);
    vi.advanceTimersByTime(1000);
    expect(FakeEventSource.latest().url).toBe('/api/events?last_event_id=41');
    stream.close();
  });

  it('reopens with the new token when the token changes', () => {
    const stream = new RunEventStream({ kind: 'sse' });
    stream.subscribe(() => {});
    setToken('t1');
    expect(FakeEventSource.latest().url).toBe('/api/events?access_token=t1');
    expect(FakeEventSource.instances[0].readyState).toBe(FakeEventSource.CLOSED);
    stream.close();
  });
});
