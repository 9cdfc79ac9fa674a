import { commandGroup } from './command-group';
import { auditKeyCommand, auditVkeyCommand } from './audit-key';
import { auditVerifyCommand } from './audit-verify';

/** `toolgate audit <verify|key|vkey>`: the decision log's tamper evidence, for auditors and operators. */
export const auditCommand = commandGroup({
  name: 'audit',
  summary: 'verify decision logs; make and show checkpoint keys',
  subcommands: [auditVerifyCommand, auditKeyCommand, auditVkeyCommand],
});
