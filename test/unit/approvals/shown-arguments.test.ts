import { SHOWN_ARGUMENTS_MAX_CHARS, shownArguments } from '../../../src/approvals/shown-arguments';

describe('shownArguments: what approvers read of a call', () => {
  const request = {
    path: '/payroll/q3.csv',
    Password: 'hunter2',
    card: { number: '4111', holder: 'A' },
    items: [{ secret: 's1', name: 'x' }],
    nested: { deeper: { password: 'p' } },
  };

  it('redacts a named field at any depth (case-insensitively) to null, and dotted paths with * segments from the top', () => {
    expect(JSON.parse(shownArguments(request, ['password', 'card.number', '*.secret']).arguments)).toEqual({
      path: '/payroll/q3.csv',
      Password: null,
      card: { number: null, holder: 'A' },
      // Lists are transparent: items.secret is the path of each item's field.
      items: [{ secret: null, name: 'x' }],
      nested: { deeper: { password: null } },
    });
  });

  it('keeps everything without patterns, and a dotted path only where it leads', () => {
    expect(JSON.parse(shownArguments(request, []).arguments)).toEqual(request);
    expect(JSON.parse(shownArguments(request, ['deeper.password']).arguments).nested.deeper.password).toBe('p');
  });

  it('cuts arguments past the cap, and says so', () => {
    const shown = shownArguments({ blob: 'x'.repeat(SHOWN_ARGUMENTS_MAX_CHARS) }, []);
    expect(shown.arguments).toHaveLength(SHOWN_ARGUMENTS_MAX_CHARS);
    expect(shown.argumentsCut).toBe(true);
  });
});
