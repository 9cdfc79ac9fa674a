import { CallerSlots } from '../../../src/limits/caller-slots';

describe('CallerSlots', () => {
  it('lets each caller hold up to its cap, apart from the others', () => {
    const slots = new CallerSlots(2);
    expect(slots.take('alice')).toBeDefined();
    expect(slots.take('alice')).toBeDefined();
    expect(slots.take('alice')).toBeUndefined();
    expect(slots.take('bob')).toBeDefined();
    expect(slots.heldBy('alice')).toBe(2);
    expect(slots.heldBy('bob')).toBe(1);
  });

  it('gives a slot back once, however often its release is called', () => {
    const slots = new CallerSlots(2);
    const first = slots.take('alice')!;
    slots.take('alice');
    first();
    first();
    expect(slots.heldBy('alice')).toBe(1);
    expect(slots.take('alice')).toBeDefined();
    expect(slots.take('alice')).toBeUndefined();
  });

  it('takes a slot given back again', () => {
    const slots = new CallerSlots(1);
    slots.take('alice')!();
    expect(slots.heldBy('alice')).toBe(0);
    expect(slots.take('alice')).toBeDefined();
  });
});
