import { runDemo } from '../../src/demo/run-demo';

describe('npm run demo', () => {
  it('runs the whole system on embedded defaults and explains each call from the decision log', async () => {
    const lines: string[] = [];
    await runDemo((line) => lines.push(line));
    const text = lines.join('\n');
    expect(text).toMatch(
      /1\. research-bot reads .*\n\s+result\s+OK "Q3 revenue grew 12%\."\n\s+evidence\s+decision \S+: ALLOW Agent::"research-bot" tools\.files\.v1\.Files\/ReadFile, by policy researchers-read-files/,
    );
    expect(text).toMatch(
      /result\s+PERMISSION_DENIED: permission denied \(decision (\S+)\)\n\s+evidence\s+decision \1 \(message 0\): DENY Agent::"research-bot" tools\.files\.v1\.Files\/WriteFile/,
    );
    expect(text).toMatch(
      /reads \/secrets\/api-key.*\n\s+result\s+PERMISSION_DENIED: permission denied \(decision (\S+)\)\n\s+evidence\s+decision \1: DENY Agent::"research-bot" tools\.files\.v1\.Files\/ReadFile: forbidden by no-reading-secrets/,
    );
    expect(text).toMatch(/decision \S+ \(message 1\): ALLOW Agent::"builder-7" tools\.files\.v1\.Files\/WriteFile, by policy ci-uses-files/);
    expect(text).toMatch(/DENY Workload::"spiffe:\/\/example\.org\/agents\/stranger"/);
    expect(text).toMatch(/refused the connection after the TLS handshake \(unexpected trust domain "partner\.test"\)/);
    expect(text).toContain('q3.md still says "Q3 revenue grew 12%."');
    // The task's story: begun by policy, used (the tool verifies each call's JWT), refused outside its tools and past its budget, ended, refused.
    const task = /begins a task.*\n\s+result\s+OK task (\S+), token bound/.exec(text)?.[1];
    expect(task).toBeDefined();
    expect(text).toMatch(/ALLOW Agent::"research-bot" toolgate\.v1\.Tasks\/BeginTask, by policy researchers-begin-read-tasks/);
    expect(text).toContain(`tool      verified the gateway's JWT: sub spiffe://example.org/agents/research-bot, scope tools.files.v1.Files/ReadFile, task ${task}`);
    expect(text).toContain(`DENY Agent::"research-bot" tools.files.v1.Files/ListDir in task ${task}: the method is not among the task's tools`);
    expect(text).toMatch(/result\s+RESOURCE_EXHAUSTED: resource exhausted \(decision (\S+)\)\n\s+evidence\s+decision \1: DENY .* the task's call budget is spent/);
    expect(text).toMatch(/ends the task\n\s+result\s+OK, ended/);
    expect(text).toMatch(/with the ended task's token\n\s+result\s+PERMISSION_DENIED: permission denied \(decision \S+\)\n\s+evidence .*: the task has ended/);
    // The MCP agent's story, through the gateway's /mcp/notes with research-bot's SVID.
    // (c) tools/list filtered: delete_all, which no policy permits, is not listed.
    expect(text).toMatch(
      /lists the notes server's tools .*\n\s+result\s+OK tools: read_note; hidden by the gateway: delete_all \(the server itself lists read_note, delete_all\)\n\s+evidence\s+decision \S+: ALLOW Agent::"research-bot" mcp:notes\/tools\/list, by policy researchers-list-notes/,
    );
    // (a) a permitted tool call reaches the server.
    expect(text).toMatch(
      /calls read_note on \/notes\/q3\.md \(tools\/call\)\n\s+result\s+OK "Q3: revenue grew 12%; hiring paused\."\n\s+evidence\s+decision \S+: ALLOW Agent::"research-bot" mcp:notes\/tools\/call\/read_note, by policy researchers-read-notes/,
    );
    // (b) a call denied on its arguments never reaches the server; the caller reads the decision id.
    expect(text).toMatch(
      /calls read_note on \/secrets\/api-key.*\n\s+result\s+DENIED \(JSON-RPC -32003\) Denied by policy \(decision (\S+)\); the server ran read_note 0 times\n\s+evidence\s+decision \1: DENY Agent::"research-bot" mcp:notes\/tools\/call\/read_note: forbidden by no-reading-secret-notes/,
    );
    expect(text).not.toContain('sk-live-not-for-agents');
    // (e) a call policy permits only with a person's approval: held, approved by alice through toolgate.v1.Approvals, then relayed.
    expect(text).toMatch(
      /calls read_note on \/payroll\/march\.md.*\n\s+result\s+OK "March payroll: 41 people, 312k in total\."\n\s+evidence\s+decision (\S+): ESCALATE Agent::"research-bot" mcp:notes\/tools\/call\/read_note: policy payroll-notes-need-approval asks a person's approval; held as request (ap_\S+)\n\s+evidence\s+decision \S+: approval \2 granted by spiffe:\/\/example\.org\/people\/alice\n\s+evidence\s+decision \1: ALLOW .*, approved by spiffe:\/\/example\.org\/people\/alice \(request \2, now used\)\n\s+approver\s+alice .* approved \2 through toolgate\.v1\.Approvals\/Approve/,
    );
    // (d) a changed definition: hidden from the list, logged and counted once, its calls refused.
    expect(text).toMatch(
      /lists the tools again.*\n\s+result\s+OK tools: \(none\); hidden by the gateway: read_note, delete_all .*\n\s+evidence .*mcp:notes\/tools\/list.*\n\s+gateway\s+logged "MCP tool definition changed since it was pinned: refused until pinned again": upstream notes, tool read_note\n\s+metric\s+toolgate_mcp_tool_changed_total\{upstream="notes",tool="read_note"\} 1\n/,
    );
    expect(text).toMatch(
      /calls read_note on \/notes\/q3\.md again.*\n\s+result\s+DENIED \(JSON-RPC -32003\) Denied: the definition of tool "read_note" changed since it was pinned.*; the server ran read_note 0 times\n\s+evidence\s+decision \S+: DENY .* mcp:notes: .*the definition of tool "read_note" changed/,
    );
  });
});
