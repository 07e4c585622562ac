import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  initialMachineState,
  masterDownIntervalMs,
  nextDeadline,
  step,
  type MachineAction,
  type MachineEvent,
  type MachineParams,
  type MachineState,
} from '../../src/vrrp/machine.ts';
import type { Advertisement } from '../../src/vrrp/packet.ts';

const VIP = '10.0.0.100';

function params(overrides: Partial<MachineParams> = {}): MachineParams {
  return {
    vrid: 51,
    version: 2,
    priority: 100,
    initialState: 'BACKUP',
    advertIntervalMs: 1000,
    preempt: true,
    preemptDelayMs: 0,
    lowerPrioNoAdvert: false,
    ownAddress: '10.0.0.2',
    advertisedAddresses: [VIP],
    authentication: { type: 'none' },
    unicastPeers: [],
    checkUnicastSource: false,
    peerTtlRanges: [],
    skipCheckAdvAddr: false,
    garpMasterDelayMs: 5000,
    garpMasterRepeat: 5,
    garpRefreshMs: 0,
    garpRefreshRepeat: 1,
    garpExtraInterfacesMs: 0,
    garpLowerPrioRepeat: 0,
    garpLowerPrioDelayMs: 0,
    downTimerAdverts: 3,
    notifyPriorityChanges: false,
    ...overrides,
  };
}

function advert(priority: number, overrides: Partial<Advertisement> = {}): Advertisement {
  return { version: 2, vrid: 51, priority, advertIntervalMs: 1000, addresses: [VIP], authType: 0, authData: Buffer.alloc(8), ...overrides };
}

/** Runs events in order and returns the final state and every action. */
function drive(p: MachineParams, events: MachineEvent[], from: MachineState = initialMachineState(p)) {
  let state = from;
  const actions: MachineAction[] = [];
  for (const event of events) {
    const result = step(p, state, event);
    state = result.state;
    actions.push(...result.actions);
  }
  return { state, actions };
}

function received(now: number, priority: number, source = '10.0.0.1', overrides: Partial<Advertisement> = {}, ttl = 255): MachineEvent {
  return { type: 'advert', now, source, ttl, advert: advert(priority, overrides) };
}

const types = (actions: MachineAction[]) => actions.map((a) => a.type);

describe('VRRP state machine', () => {
  it('starts as backup with Master_Down_Interval = 3 x advert_int + skew', () => {
    const p = params();
    const { state, actions } = drive(p, [{ type: 'start', now: 0 }]);
    expect(state.state).toBe('BACKUP');
    expect(state.masterDownAt).toBe(3000 + (156 * 1000) / 256);
    expect(actions).toEqual([{ type: 'transition', from: 'INIT', to: 'BACKUP', reason: 'startup' }]);
  });

  it('uses sub-second intervals with v3 (advert_int 0.1)', () => {
    const p = params({ version: 3, advertIntervalMs: 100 });
    const { state } = drive(p, [{ type: 'start', now: 0 }]);
    expect(state.masterDownAt).toBeCloseTo(300 + (156 * 100) / 256);
  });

  it('takes over when the master goes silent: advert, VIPs, gratuitous ARP', () => {
    const p = params();
    const { state, actions } = drive(p, [{ type: 'start', now: 0 }, { type: 'tick', now: 3700 }]);
    expect(state.state).toBe('MASTER');
    expect(types(actions).slice(1)).toEqual(['advertise', 'add-addresses', 'gratuitous-arp', 'transition']);
    expect(state.advertAt).toBe(4700);
    expect(state.garpAt).toBe(8700);
  });

  it('goes straight to master as address owner (priority 255), unless its state says BACKUP', () => {
    expect(drive(params({ priority: 255, initialState: 'MASTER' }), [{ type: 'start', now: 0 }]).state.state).toBe('MASTER');
    // keepalived 2.2.7 with priority 255 and state BACKUP: "Entering BACKUP STATE (init)", master 3 s later.
    const waiting = drive(params({ priority: 255, initialState: 'BACKUP' }), [{ type: 'start', now: 0 }]).state;
    expect(waiting.state).toBe('BACKUP');
    expect(drive(params({ priority: 255, initialState: 'BACKUP' }), [{ type: 'tick', now: 3004 }], waiting).state.state).toBe('MASTER');
  });

  it('follows a higher or equal priority master and restarts the down timer', () => {
    const p = params();
    const { state } = drive(p, [{ type: 'start', now: 0 }, received(2000, 100), { type: 'tick', now: 3700 }]);
    expect(state.state).toBe('BACKUP');
    expect(state.masterDownAt).toBe(2000 + masterDownIntervalMs(p, state));
    expect(state.masterAddress).toBe('10.0.0.1');
    expect(state.lastAdvertAt).toBe(2000);
  });

  it('v3 backups adopt the master advert interval', () => {
    const p = params({ version: 3, advertIntervalMs: 1000 });
    const { state } = drive(p, [{ type: 'start', now: 0 }, received(10, 120, '10.0.0.1', { version: 3, advertIntervalMs: 200 })]);
    expect(state.masterAdvertIntervalMs).toBe(200);
    expect(state.masterDownAt).toBeCloseTo(10 + 600 + (156 * 200) / 256);
  });

  it('preempts a lower priority master by ignoring its adverts', () => {
    const p = params({ priority: 150 });
    const { state } = drive(p, [{ type: 'start', now: 0 }, received(1000, 100), received(2000, 100), { type: 'tick', now: 3500 }]);
    expect(state.state).toBe('MASTER');
  });

  it('does not preempt with nopreempt', () => {
    const p = params({ priority: 150, preempt: false });
    const events: MachineEvent[] = [{ type: 'start', now: 0 }];
    for (let t = 1000; t <= 10_000; t += 1000) events.push(received(t, 100), { type: 'tick', now: t });
    expect(drive(p, events).state.state).toBe('BACKUP');
  });

  it('waits preempt_delay before preempting a lower priority master', () => {
    const p = params({ priority: 150, preemptDelayMs: 5000 });
    const events: MachineEvent[] = [{ type: 'start', now: 0 }];
    let becameMasterAt: number | undefined;
    let state = initialMachineState(p);
    for (let t = 0; t <= 12_000 && becameMasterAt === undefined; t += 500) {
      if (t === 0) state = step(p, state, events[0]!).state;
      else {
        state = step(p, state, received(t, 100)).state;
        state = step(p, state, { type: 'tick', now: t }).state;
      }
      if (state.state === 'MASTER') becameMasterAt = t;
    }
    expect(becameMasterAt).toBeGreaterThanOrEqual(5000 + 3000);
  });

  it('a priority 0 advert (master stepping down) shortens the wait to the skew time', () => {
    const p = params();
    const { state } = drive(p, [{ type: 'start', now: 0 }, received(1000, 0)]);
    expect(state.masterDownAt).toBeCloseTo(1000 + (156 * 1000) / 256);
  });

  describe('as master', () => {
    const master = (p: MachineParams) => drive(p, [{ type: 'start', now: 0 }, { type: 'tick', now: 4000 }]).state;

    it('advertises every advert_int and repeats the gratuitous ARP after garp_master_delay', () => {
      const p = params();
      const { actions } = drive(p, [{ type: 'tick', now: 5000 }, { type: 'tick', now: 6000 }, { type: 'tick', now: 9000 }], master(p));
      expect(types(actions)).toEqual(['advertise', 'advertise', 'advertise', 'gratuitous-arp']);
    });

    it('steps down for a higher priority master and removes the VIPs, after one advert of its own so that the winner learns it was master too', () => {
      const p = params();
      const { state, actions } = drive(p, [received(4500, 120)], master(p));
      expect(state.state).toBe('BACKUP');
      expect(state.masterAddress).toBe('10.0.0.1');
      expect(types(actions)).toEqual(['advertise', 'remove-addresses', 'transition']);
      expect(actions[0]).toEqual({ type: 'advertise', priority: 100 });
    });

    it('breaks equal priorities by the higher primary IP', () => {
      const p = params();
      expect(drive(p, [received(4500, 100, '10.0.0.3')], master(p)).state.state).toBe('BACKUP');
      const lower = drive(p, [received(4500, 100, '10.0.0.1')], master(p));
      expect(lower.state.state).toBe('MASTER');
      expect(lower.state.splitBrain).toMatchObject({ peer: '10.0.0.1', peerPriority: 100 });
      expect(types(lower.actions)).toEqual(['split-brain', 'advertise', 'gratuitous-arp']);
    });

    it('with lower_prio_no_advert, lets a lower priority master be, until its own advert is due (the RFC; keepalived answers by default)', () => {
      const p = params({ lowerPrioNoAdvert: true });
      const from = master(p);
      const lower = drive(p, [received(4500, 90)], from);
      expect(lower.state.state).toBe('MASTER');
      expect(types(lower.actions)).toEqual(['split-brain', 'gratuitous-arp']);
      expect(lower.state.advertAt).toBe(from.advertAt);
      expect(types(drive(params(), [received(4500, 90)], master(params())).actions)).toEqual(['split-brain', 'advertise', 'gratuitous-arp']);
    });

    it('answers a priority 0 advert with an advert at once', () => {
      const p = params();
      expect(drive(p, [received(4100, 0)], master(p)).actions).toEqual([{ type: 'advertise', priority: 100 }]);
    });

    it('gives up on fault and on stop with a priority 0 advert', () => {
      const p = params();
      const fault = drive(p, [{ type: 'fault', now: 4100, faulty: true }], master(p));
      expect(fault.state.state).toBe('FAULT');
      expect(types(fault.actions)).toEqual(['advertise', 'remove-addresses', 'transition']);
      expect(fault.actions[0]).toEqual({ type: 'advertise', priority: 0 });
      expect(drive(p, [{ type: 'fault', now: 5000, faulty: false }], fault.state).state.state).toBe('BACKUP');
      const stop = drive(p, [{ type: 'stop', now: 4100 }], master(p));
      expect(stop.state.state).toBe('STOPPED');
      expect(stop.actions.slice(0, 2)).toEqual([{ type: 'advertise', priority: 0 }, { type: 'remove-addresses' }]);
      expect(nextDeadline(stop.state)).toBeUndefined();
    });

    it('advertises its lowered effective priority so a preempting backup can take over', () => {
      const p = params();
      const { actions } = drive(p, [{ type: 'priority', now: 4100, effectivePriority: 80 }, { type: 'tick', now: 5000 }], master(p));
      expect(actions).toEqual([{ type: 'advertise', priority: 80 }]);
    });
  });

  it('waits for the rest of its sync group before becoming master', () => {
    const p = params();
    const held = drive(p, [{ type: 'start', now: 0 }, { type: 'tick', now: 3700, holdMaster: true }]);
    expect(held.state).toMatchObject({ state: 'BACKUP', wantsMaster: true, masterDownAt: 4700 });
    expect(drive(p, [{ type: 'tick', now: 4700 }], held.state).state.state).toBe('MASTER');
    expect(drive(p, [received(4000, 120)], held.state).state.wantsMaster).toBe(false);
  });

  it('a reloaded master resumes as master without an election', () => {
    const { state, actions } = drive(params(), [{ type: 'start', now: 0, resumeAsMaster: true }]);
    expect(state.state).toBe('MASTER');
    expect(actions.at(-1)).toEqual({ type: 'transition', from: 'INIT', to: 'MASTER', reason: 'reload' });
  });

  it('follows its sync group', () => {
    const p = params();
    const backup = drive(p, [{ type: 'start', now: 0 }]).state;
    expect(drive(p, [{ type: 'sync', now: 10, to: 'MASTER' }], backup).state.state).toBe('MASTER');
    expect(drive(p, [{ type: 'sync', now: 10, to: 'FAULT' }], backup).state.state).toBe('FAULT');
  });

  it('a master whose tracked route or rule someone deleted gives up (priority 0 advert, VIPs off) and is master again after the skew time, as keepalived 2.2.7', () => {
    const p = params();
    const master = drive(p, [{ type: 'start', now: 0 }, { type: 'tick', now: 3700 }]).state;
    const yielded = drive(p, [{ type: 'routing-deleted', now: 5000, what: 'route' }], master);
    expect(yielded.actions).toEqual([
      { type: 'advertise', priority: 0 },
      { type: 'remove-addresses' },
      { type: 'transition', from: 'MASTER', to: 'BACKUP', reason: 'virtual-route-deleted' },
    ]);
    expect(yielded.state.masterDownAt).toBe(5000 + (156 * 1000) / 256);
    const back = drive(p, [{ type: 'tick', now: 5610 }], yielded.state);
    expect(types(back.actions)).toEqual(['advertise', 'add-addresses', 'gratuitous-arp', 'transition']);
    expect(back.state.state).toBe('MASTER');
    // A peer of higher priority that answers the priority 0 advert first keeps it backup.
    const beaten = drive(p, [received(5300, 150), { type: 'tick', now: 5610 }], yielded.state);
    expect(beaten.state.state).toBe('BACKUP');
    // Only a master has routes and rules to lose.
    const backup = drive(p, [{ type: 'start', now: 0 }]).state;
    expect(drive(p, [{ type: 'routing-deleted', now: 10, what: 'rule' }], backup)).toEqual({ state: backup, actions: [] });
  });

  it('drops and counts adverts that fail the checks', () => {
    const p = params({ authentication: { type: 'pass', password: 'secret' }, unicastPeers: ['10.0.0.1'], checkUnicastSource: true });
    const pass = Buffer.from('secret\0\0');
    const { state, actions } = drive(p, [
      { type: 'start', now: 0 },
      received(2, 100, '10.0.0.1', { authType: 1, authData: Buffer.from('wrong\0\0\0') }),
      received(3, 100, '10.0.0.1', { authType: 1, authData: pass, advertIntervalMs: 2000 }),
      received(4, 100, '10.0.0.1', { authType: 1, authData: pass, addresses: ['10.0.0.99'] }),
      received(5, 100, '10.0.0.7', { authType: 1, authData: pass }),
      received(6, 100, '10.0.0.1', { authType: 1, authData: pass, vrid: 52 }),
    ]);
    expect(state.drops).toEqual({ auth: 1, interval: 1, addresses: 1, 'unexpected-source': 1, 'unknown-vrid': 1 });
    expect(state.lastAdvertAt).toBeUndefined();
    expect(actions.filter((a) => a.type === 'dropped')).toHaveLength(5);
  });

  it('takes a unicast advert from an address not in unicast_peer unless check_unicast_src is set, as keepalived 2.2.7 does', () => {
    const fromStranger = [{ type: 'start', now: 0 } as const, received(2, 120, '10.0.0.7')];
    const open = drive(params({ priority: 100, unicastPeers: ['10.0.0.1'] }), fromStranger).state;
    expect(open.masterAddress).toBe('10.0.0.7');
    expect(open.drops).toEqual({});
    const checked = drive(params({ priority: 100, unicastPeers: ['10.0.0.1'], checkUnicastSource: true }), fromStranger).state;
    expect(checked.masterAddress).toBeUndefined();
    expect(checked.drops).toEqual({ 'unexpected-source': 1 });
  });

  it("with a peer's min_ttl/max_ttl, drops and counts its adverts outside the range, as keepalived 2.2.7 does", () => {
    const p = params({ priority: 100, unicastPeers: ['10.0.0.1', '10.0.0.3'], checkUnicastSource: true, peerTtlRanges: [{ address: '10.0.0.1', minTtl: 10, maxTtl: 64 }] });
    const start = { type: 'start', now: 0 } as const;
    expect(drive(p, [start, received(2, 120, '10.0.0.1', {}, 9)]).state.drops).toEqual({ ttl: 1 });
    expect(drive(p, [start, received(2, 120, '10.0.0.1', {}, 65)]).state.drops).toEqual({ ttl: 1 });
    expect(drive(p, [start, received(2, 120, '10.0.0.1', {}, 10)]).state.masterAddress).toBe('10.0.0.1');
    // A peer without a range of its own takes any TTL (keepalived's 0..255).
    expect(drive(p, [start, received(2, 120, '10.0.0.3', {}, 1)]).state.masterAddress).toBe('10.0.0.3');
  });

  it("with skip_check_adv_addr, a backup takes the last master's adverts whatever addresses they list, as keepalived 2.2.7 does", () => {
    const p = params({ priority: 100, skipCheckAdvAddr: true });
    const start = { type: 'start', now: 0 } as const;
    const other = { addresses: ['10.0.0.99'] };
    // The first advert is checked: nobody was master before it.
    expect(drive(p, [start, received(2, 120, '10.0.0.1', other)]).state.drops).toEqual({ addresses: 1 });
    const following = drive(p, [start, received(2, 120), received(1000, 120, '10.0.0.1', other)]).state;
    expect(following.drops).toEqual({});
    expect(following.lastAdvertAt).toBe(1000);
    // Another source is checked, and a master's priority 0 advert does not make it the last master.
    expect(drive(p, [start, received(2, 120), received(1000, 120, '10.0.0.3', other)]).state.drops).toEqual({ addresses: 1 });
    expect(drive(p, [start, received(2, 0, '10.0.0.3'), received(1000, 120, '10.0.0.3', other)]).state.drops).toEqual({ addresses: 1 });
    // Without it, every advert is checked.
    expect(drive(params({ priority: 100 }), [start, received(2, 120), received(1000, 120, '10.0.0.1', other)]).state.drops).toEqual({ addresses: 1 });
  });

  it('with skip_check_adv_addr, the unicast source and TTL checks go with the address check, as in keepalived 2.2.7', () => {
    const p = params({ priority: 100, skipCheckAdvAddr: true, unicastPeers: ['10.0.0.1'], checkUnicastSource: true, peerTtlRanges: [{ address: '10.0.0.1', minTtl: 10, maxTtl: 64 }] });
    const start = { type: 'start', now: 0 } as const;
    expect(drive(p, [start, received(2, 120, '10.0.0.1', {}, 5)]).state.drops).toEqual({ ttl: 1 });
    expect(drive(p, [start, received(2, 120, '10.0.0.1', {}, 20), received(1000, 120, '10.0.0.1', {}, 5)]).state.drops).toEqual({});
  });

  it('with skip_check_adv_addr, a master checks every advert', () => {
    const p = params({ priority: 100, skipCheckAdvAddr: true });
    const backup = drive(p, [{ type: 'start', now: 0 }, received(2, 120)]).state;
    const master = drive(p, [{ type: 'tick', now: 5000 }], backup).state;
    expect(master.state).toBe('MASTER');
    expect(drive(p, [received(5100, 120, '10.0.0.1', { addresses: ['10.0.0.99'] })], master).state).toMatchObject({ state: 'MASTER', drops: { addresses: 1 } });
  });

  it('with auth_type AH, takes only adverts of auth type 2 (the speaker has checked their AH header), as keepalived does', () => {
    const p = params({ authentication: { type: 'ah', password: 'secret' } });
    const { state } = drive(p, [
      { type: 'start', now: 0 },
      received(2, 100, '10.0.0.1', { authType: 0 }),
      received(3, 100, '10.0.0.1', { authType: 1, authData: Buffer.from('secret\0\0') }),
      received(4, 100, '10.0.0.1', { authType: 2 }),
    ]);
    expect(state.drops).toEqual({ auth: 2 });
    expect(state.lastAdvertAt).toBe(4);
  });
});

describe('VRRP state machine: keepalived 2.2.7 garp, timer, TTL and notify keywords', () => {
  /** Becomes master at 3700 (the master down timer of priority 100) and then sends adverts every second. */
  function masterThenAdverts(until: number) {
    const events: MachineEvent[] = [{ type: 'start', now: 0 }, { type: 'tick', now: 3700 }];
    for (let now = 4700; now <= until; now += 1000) events.push({ type: 'tick', now });
    return events;
  }
  /** When each gratuitous ARP burst went out, and how many per address. */
  function garpsAt(p: MachineParams, events: MachineEvent[]) {
    let state = initialMachineState(p);
    const bursts: { now: number; repeat: number }[] = [];
    for (const event of events) {
      const result = step(p, state, event);
      state = result.state;
      for (const action of result.actions) if (action.type === 'gratuitous-arp') bursts.push({ now: event.now, repeat: action.repeat });
    }
    return bursts;
  }

  it('garp_master_refresh: a burst of garp_master_refresh_repeat goes with the first advert once the refresh interval has passed, and again from there', () => {
    const p = params({ garpMasterDelayMs: 0, garpRefreshMs: 3000, garpRefreshRepeat: 2 });
    expect(garpsAt(p, masterThenAdverts(10_700))).toEqual([
      { now: 3700, repeat: 5 },
      { now: 6700, repeat: 2 },
      { now: 9700, repeat: 2 },
    ]);
  });

  it('garp_master_refresh rides on adverts: a refresh not a multiple of advert_int waits for the next advert, and stops with mastership', () => {
    const p = params({ garpMasterDelayMs: 0, garpRefreshMs: 2500, garpRefreshRepeat: 1 });
    const events = [...masterThenAdverts(6700), received(6800, 200), { type: 'tick', now: 7700 } as MachineEvent];
    expect(garpsAt(p, events)).toEqual([
      { now: 3700, repeat: 5 },
      { now: 6700, repeat: 1 },
    ]);
    const { state } = drive(p, events);
    expect(state.garpRefreshAt).toBeUndefined();
  });

  it('garp_lower_prio_repeat: a master hearing a lower priority master sends that many at once, and again garp_lower_prio_delay later, one per advert heard', () => {
    const p = params({ garpMasterDelayMs: 0, garpLowerPrioRepeat: 3, garpLowerPrioDelayMs: 5000 });
    const events: MachineEvent[] = [{ type: 'start', now: 0 }, { type: 'tick', now: 3700 }, received(4000, 50), received(4200, 50)];
    const { state, actions } = drive(p, events);
    expect(actions.slice(-2)).toEqual([{ type: 'advertise', priority: 100 }, { type: 'gratuitous-arp', repeat: 3 }]);
    expect(state.lowerPrioGarpAt).toEqual([9000, 9200]);
    expect(nextDeadline({ ...state, advertAt: undefined, splitBrainEndsAt: undefined })).toBe(9000);
    const later = drive(p, [{ type: 'tick', now: 9000 }, { type: 'tick', now: 9200 }], state);
    expect(later.actions.filter((a) => a.type === 'gratuitous-arp')).toEqual([
      { type: 'gratuitous-arp', repeat: 3 },
      { type: 'gratuitous-arp', repeat: 3 },
    ]);
    expect(later.state.lowerPrioGarpAt).toEqual([]);
  });

  it('garp_lower_prio_repeat 0 sends nothing on a lower priority advert but a split brain\'s first; garp_lower_prio_delay 0 sends no second burst; leaving master drops pending ones', () => {
    const none = params({ garpMasterDelayMs: 0, garpLowerPrioRepeat: 0, garpLowerPrioDelayMs: 5000 });
    const heard = drive(none, [{ type: 'start', now: 0 }, { type: 'tick', now: 3700 }, received(4000, 50), received(4200, 50)]);
    expect(heard.actions.slice(-1)).toEqual([{ type: 'advertise', priority: 100 }]);
    expect(heard.state.lowerPrioGarpAt).toEqual([]);
    const noDelay = params({ garpMasterDelayMs: 0, garpLowerPrioRepeat: 2, garpLowerPrioDelayMs: 0 });
    expect(drive(noDelay, [{ type: 'start', now: 0 }, { type: 'tick', now: 3700 }, received(4000, 50)]).state.lowerPrioGarpAt).toEqual([]);
    const delayed = params({ garpMasterDelayMs: 0, garpLowerPrioRepeat: 2, garpLowerPrioDelayMs: 5000 });
    const yielded = drive(delayed, [{ type: 'start', now: 0 }, { type: 'tick', now: 3700 }, received(4000, 50), received(4500, 200)]);
    expect(yielded.state).toMatchObject({ state: 'BACKUP', lowerPrioGarpAt: [] });
  });

  describe('split brain', () => {
    const master = (p: MachineParams) => drive(p, [{ type: 'start', now: 0 }, { type: 'tick', now: 3700 }]).state;
    const splitBrainActions = (actions: MachineAction[]) => actions.filter((a) => a.type === 'split-brain' || a.type === 'split-brain-ended' || a.type === 'gratuitous-arp');

    it('a master hearing another master that loses to it re-sends its GARPs at once, and the split brain ends, with its length, after 3 quiet advert intervals', () => {
      const p = params({ garpMasterDelayMs: 0, garpLowerPrioRepeat: 0 });
      const heard = drive(p, [received(10_000, 90), received(11_000, 90), received(12_500, 90)], master(p));
      expect(splitBrainActions(heard.actions)).toEqual([
        { type: 'split-brain', peer: '10.0.0.1', peerPriority: 90, started: true },
        { type: 'gratuitous-arp', repeat: 5 },
        { type: 'split-brain', peer: '10.0.0.1', peerPriority: 90, started: false },
        { type: 'split-brain', peer: '10.0.0.1', peerPriority: 90, started: false },
      ]);
      expect(heard.state.splitBrain).toEqual({ peer: '10.0.0.1', peerPriority: 90, firstSeenAt: 10_000, lastSeenAt: 12_500 });
      expect(nextDeadline({ ...heard.state, advertAt: undefined })).toBe(15_500);
      const quiet = drive(p, [{ type: 'tick', now: 15_400 }, { type: 'tick', now: 15_500 }], heard.state);
      const ended = { peer: '10.0.0.1', peerPriority: 90, firstSeenAt: 10_000, lastSeenAt: 12_500, endedAt: 15_500, durationMs: 2500, outcome: 'stayed-master' };
      expect(quiet.actions.filter((a) => a.type === 'split-brain-ended')).toEqual([{ type: 'split-brain-ended', splitBrain: ended }]);
      expect(quiet.state).toMatchObject({ state: 'MASTER', splitBrain: undefined, splitBrainEndsAt: undefined, lastSplitBrain: ended });
      const again = drive(p, [received(20_000, 90)], quiet.state);
      expect(splitBrainActions(again.actions)[0]).toEqual({ type: 'split-brain', peer: '10.0.0.1', peerPriority: 90, started: true });
    });

    it('with garp_lower_prio_repeat set, the heal sends that burst (keepalived\'s) and no second one', () => {
      const p = params({ garpMasterDelayMs: 0, garpLowerPrioRepeat: 2 });
      const { actions } = drive(p, [received(10_000, 90)], master(p));
      expect(actions.filter((a) => a.type === 'gratuitous-arp')).toEqual([{ type: 'gratuitous-arp', repeat: 2 }]);
    });

    it('leaving MASTER ends the split brain there: to a higher priority master, or on fault', () => {
      const p = params({ garpMasterDelayMs: 0 });
      const during = drive(p, [received(10_000, 90)], master(p)).state;
      const yielded = drive(p, [received(11_000, 150, '10.0.0.9')], during);
      expect(yielded.state).toMatchObject({ state: 'BACKUP', splitBrain: undefined, lastSplitBrain: { peer: '10.0.0.1', endedAt: 11_000, durationMs: 0, outcome: 'left-master' } });
      expect(types(yielded.actions)).toEqual(['advertise', 'remove-addresses', 'split-brain-ended', 'transition']);
      const fault = drive(p, [{ type: 'fault', now: 11_000, faulty: true }], during);
      expect(fault.state.lastSplitBrain).toMatchObject({ outcome: 'left-master', endedAt: 11_000 });
    });

    it('the master it just preempted, yielding with an advert, is no split brain; the same master heard again is', () => {
      const p = params({ priority: 150, garpMasterDelayMs: 0, garpLowerPrioRepeat: 0 });
      const preempted = drive(p, [{ type: 'start', now: 0 }, received(1000, 100), received(2000, 100), { type: 'tick', now: 5500 }]);
      expect(preempted.state.state).toBe('MASTER');
      const yielding = drive(p, [received(5510, 100)], preempted.state);
      expect(splitBrainActions(yielding.actions)).toEqual([{ type: 'split-brain', peer: '10.0.0.1', peerPriority: 100, started: false }]);
      expect(yielding.state.splitBrain).toBeUndefined();
      const again = drive(p, [received(6000, 100)], yielding.state);
      expect(splitBrainActions(again.actions)[0]).toEqual({ type: 'split-brain', peer: '10.0.0.1', peerPriority: 100, started: true });
    });
  });

  it('a sync group peer hearing a lower priority master makes every master member send its own lower priority GARPs, as keepalived does', () => {
    const p = params({ garpMasterDelayMs: 0, garpLowerPrioRepeat: 2, garpLowerPrioDelayMs: 3000 });
    const master = drive(p, [{ type: 'start', now: 0 }, { type: 'tick', now: 3700 }]).state;
    const told = drive(p, [{ type: 'sync-lower-priority', now: 4000 }], master);
    expect(told.actions).toEqual([{ type: 'gratuitous-arp', repeat: 2 }]);
    expect(told.state.lowerPrioGarpAt).toEqual([7000]);
    const backup = drive(p, [{ type: 'start', now: 0 }]).state;
    expect(drive(p, [{ type: 'sync-lower-priority', now: 100 }], backup).actions).toEqual([]);
  });

  it('down_timer_adverts: Master_Down_Interval = N x the master advert interval + skew, v2 and v3', () => {
    const v2 = params({ downTimerAdverts: 5 });
    expect(drive(v2, [{ type: 'start', now: 0 }]).state.masterDownAt).toBe(5000 + (156 * 1000) / 256);
    const v3 = params({ version: 3, advertIntervalMs: 1000, downTimerAdverts: 1 });
    const following = drive(v3, [{ type: 'start', now: 0 }, received(100, 200, '10.0.0.1', { version: 3, advertIntervalMs: 500 })]);
    expect(following.state.masterDownAt).toBeCloseTo(100 + 500 + (156 * 500) / 256);
  });

  it('checks the TTL of multicast adverts only, as keepalived does: a unicast advert may come over routers (unicast_ttl)', () => {
    const multicast = drive(params(), [{ type: 'start', now: 0 }, received(1, 100, '10.0.0.1', {}, 64)]);
    expect(multicast.state.drops).toEqual({ ttl: 1 });
    const unicast = drive(params({ unicastPeers: ['10.0.0.1'] }), [{ type: 'start', now: 0 }, received(1, 100, '10.0.0.1', {}, 64)]);
    expect(unicast.state.drops).toEqual({});
    expect(unicast.state.lastAdvertAt).toBe(1);
  });

  it('notify_priority_changes: each change of effective priority is a MASTER_PRIORITY or (in any other state) BACKUP_PRIORITY event', () => {
    const p = params({ notifyPriorityChanges: true, garpMasterDelayMs: 0 });
    const asBackup = drive(p, [{ type: 'start', now: 0 }, { type: 'priority', now: 1, effectivePriority: 80 }, { type: 'priority', now: 2, effectivePriority: 80 }]);
    expect(asBackup.actions.filter((a) => a.type === 'priority-notify')).toEqual([{ type: 'priority-notify', event: 'BACKUP_PRIORITY', priority: 80 }]);
    const asMaster = drive(p, [{ type: 'start', now: 0 }, { type: 'tick', now: 3700 }, { type: 'priority', now: 4000, effectivePriority: 120 }]);
    expect(asMaster.actions.filter((a) => a.type === 'priority-notify')).toEqual([{ type: 'priority-notify', event: 'MASTER_PRIORITY', priority: 120 }]);
    const quiet = drive(params(), [{ type: 'start', now: 0 }, { type: 'priority', now: 1, effectivePriority: 80 }]);
    expect(quiet.actions.filter((a) => a.type === 'priority-notify')).toEqual([]);
    expect(quiet.state.effectivePriority).toBe(80);
  });
});

interface SimNode {
  p: MachineParams;
  state: MachineState;
  startAt: number;
}

/**
 * Runs several machines on a lossless shared link: every advert reaches every other node 1 ms
 * later. Returns the nodes after `durationMs`.
 */
function simulate(nodes: SimNode[], durationMs: number): SimNode[] {
  const deliveries: { at: number; to: number; event: MachineEvent }[] = [];
  for (let guard = 0; guard < 100_000; guard++) {
    const candidates: { at: number; run: () => void }[] = [];
    nodes.forEach((node, index) => {
      const apply = (event: MachineEvent) => {
        const result = step(node.p, node.state, event);
        node.state = result.state;
        for (const action of result.actions) {
          if (action.type !== 'advertise') continue;
          nodes.forEach((_, other) => {
            if (other === index) return;
            const sent: Advertisement = { ...advert(action.priority), version: node.p.version, advertIntervalMs: node.p.advertIntervalMs };
            deliveries.push({ at: event.now + 1, to: other, event: { type: 'advert', now: event.now + 1, source: node.p.ownAddress, ttl: 255, advert: sent } });
          });
        }
      };
      if (node.state.state === 'INIT') candidates.push({ at: node.startAt, run: () => apply({ type: 'start', now: node.startAt }) });
      const deadline = nextDeadline(node.state);
      if (deadline !== undefined) candidates.push({ at: deadline, run: () => apply({ type: 'tick', now: deadline }) });
      deliveries.forEach((delivery, position) => {
        if (delivery.to !== index || node.state.state === 'INIT') return;
        candidates.push({
          at: delivery.at,
          run: () => {
            deliveries.splice(position, 1);
            apply(delivery.event);
          },
        });
      });
    });
    candidates.sort((a, b) => a.at - b.at);
    const next = candidates[0];
    if (!next || next.at > durationMs) break;
    next.run();
  }
  return nodes;
}

describe('elections on a lossless link (property)', () => {
  it('breaks a tie of equal priorities by address only when two masters meet', () => {
    const run = (startOfLower: number, startOfHigher: number) =>
      simulate(
        [
          { address: '10.0.0.1', startAt: startOfLower },
          { address: '10.0.0.2', startAt: startOfHigher },
        ].map(({ address, startAt }) => {
          const p = params({ priority: 215, ownAddress: address, advertIntervalMs: 1000 });
          return { p, state: initialMachineState(p), startAt };
        }),
        20_000,
      )
        .filter((node) => node.state.state === 'MASTER')
        .map((node) => node.p.ownAddress);
    expect(run(0, 0)).toEqual(['10.0.0.2']);
    expect(run(0, 2)).toEqual(['10.0.0.1']);
  });

  // A backup follows a master of equal priority (RFC 5798 6.4.2, and keepalived), so among equal
  // highest priorities the first to claim mastership keeps it; the address only breaks a tie
  // between two masters that meet, which the interop tests cover.
  it('ends with exactly one master, of the highest priority when everyone preempts', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            priority: fc.integer({ min: 1, max: 254 }),
            startAt: fc.integer({ min: 0, max: 3000 }),
            preempt: fc.boolean(),
          }),
          { minLength: 2, maxLength: 4 },
        ),
        fc.constantFrom<2 | 3>(2, 3),
        (specs, version) => {
          const nodes = simulate(
            specs.map((spec, index) => {
              const p = params({ ...spec, version, ownAddress: `10.0.0.${index + 1}`, advertIntervalMs: 1000 });
              return { p, state: initialMachineState(p), startAt: spec.startAt };
            }),
            20_000,
          );
          const masters = nodes.filter((node) => node.state.state === 'MASTER');
          expect(masters).toHaveLength(1);
          if (specs.every((spec) => spec.preempt)) {
            const highest = Math.max(...specs.map((spec) => spec.priority));
            expect(masters[0]?.p.priority).toBe(highest);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
