import * as grpc from '@grpc/grpc-js';
import { approvalMetadata } from '../../src/approvals/approvals-client';
import { errorInfoOf, STATUS_DETAILS_HEADER } from '../../src/relay/status-details';
import { OidcFixture } from '../unit/identity/support/oidc-fixture';
import { GatewayWorld, RESEARCH_BOT } from './support/gateway-world';

const READ = 'tools.files.v1.Files/ReadFile';
const ALICE_APPROVER = 'spiffe://example.org/people/alice';

const POLICIES = {
  'files.cedar': `
@id("payroll-needs-approval")
@approval("payroll-owners")
permit (principal, action == Action::"${READ}", resource == Tool::"files") when { context.request.path like "/payroll/*" };
`,
};

type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/**
 * An approver agrees to an agent acting for one person: the approval's digest binds the
 * on-behalf-of user, so the same call for another user (the tool would be told `obo` bob)
 * needs an approval of its own (docs/approvals.md, "The digest").
 */
describe('an approval is bound to the user the agent acts for', () => {
  let users: OidcFixture;
  let world: GatewayWorld;
  let bot: Client;

  beforeAll(async () => {
    users = await OidcFixture.create('https://login.example.com');
    world = await GatewayWorld.start({
      policies: POLICIES,
      protos: true,
      extraConfig: `onBehalfOf: { issuer: ${users.issuer}, audience: toolgate-users, jwksUri: "${users.jwksUri}" }\n`,
    });
    world.files.set('/payroll/q3.csv', Buffer.from('salaries'));
    bot = (await world.agent(RESEARCH_BOT)) as Client;
  }, 30_000);

  afterAll(async () => {
    await world?.close();
    await users?.close();
  });

  async function readFor(
    user: string,
    options: { approval?: string; deadlineMs?: number } = {},
  ): Promise<{ code: number; reason?: string; approvalId?: string; content?: string }> {
    const metadata = new grpc.Metadata();
    metadata.set('x-toolgate-on-behalf-of', await users.sign({ sub: user, aud: 'toolgate-users' }));
    if (options.approval !== undefined) approvalMetadata(options.approval, metadata);
    const callOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
    return new Promise((resolve) =>
      bot.readFile({ path: '/payroll/q3.csv' }, metadata, callOptions, (err: grpc.ServiceError | null, reply: { content: Buffer }) => {
        if (!err) return resolve({ code: grpc.status.OK, content: reply.content.toString() });
        const details = err.metadata?.get(STATUS_DETAILS_HEADER)[0];
        const info = details === undefined ? undefined : errorInfoOf(details as Buffer);
        resolve({ code: err.code, ...(info && { reason: info.reason }), ...(info?.metadata.approvalId && { approvalId: info.metadata.approvalId }) });
      }),
    );
  }

  it('refuses an approval given for alice on the same call made for bob, and relays it for alice', async () => {
    const first = await readFor('alice', { deadlineMs: 1000 });
    expect(first).toMatchObject({ code: grpc.status.FAILED_PRECONDITION, reason: 'APPROVAL_REQUIRED' });
    const id = first.approvalId!;
    expect((await world.gateway.approvals.approve(id, ALICE_APPROVER)).ok).toBe(true);

    expect(await readFor('bob', { approval: id })).toMatchObject({ code: grpc.status.FAILED_PRECONDITION, reason: 'APPROVAL_MISMATCH' });
    expect(world.decisions.lines.at(-1)).toMatchObject({ decision: 'deny', approval: id, onBehalfOf: 'bob' });
    // Not used up by the refused retry: the call it was given for goes through, once.
    expect(await readFor('alice', { approval: id })).toMatchObject({ code: grpc.status.OK, content: 'salaries' });
    expect(world.decisions.lines.filter((l) => l.decision === 'allow').at(-1)).toMatchObject({ approval: id, onBehalfOf: 'alice', by: [ALICE_APPROVER] });
  });
});
