import { X509Certificate } from 'node:crypto';
import { connect, type TLSSocket } from 'node:tls';
import { authorizeId, mtlsClientOptions, MtlsServer } from '../../src/spiffe/index';
import { SpiffeWorld } from './support/spiffe-world';
import { nextEvent } from './support/workload-fixtures';

const TOOL = 'spiffe://example.org/tools/files';
const AGENT = 'spiffe://example.org/agents/research-bot';

function handshake(options: ReturnType<ReturnType<typeof mtlsClientOptions>>, port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ ...options, host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

const serial = (socket: TLSSocket) => new X509Certificate(socket.getPeerCertificate().raw).serialNumber;

describe('SVID rotation seen by new handshakes, with no restart', () => {
  let world: SpiffeWorld;
  afterEach(() => world.close());

  it('presents the rotated SVID on both sides of the next handshake while old connections live on', async () => {
    world = await SpiffeWorld.create();
    const toolSource = await world.workload(TOOL);
    const agentSource = await world.workload(AGENT);
    const server = new MtlsServer(toolSource, authorizeId(AGENT));
    const seenClientSerials: string[] = [];
    server.on('connection', (socket) => {
      seenClientSerials.push(new X509Certificate(socket.getPeerCertificate().raw).serialNumber);
      socket.pipe(socket); // echo
    });
    const { port } = await server.listen();
    const clientOptions = mtlsClientOptions(agentSource, authorizeId(TOOL));

    const first = await handshake(clientOptions(), port);
    const firstServerSerial = serial(first);

    const rotated = Promise.all([nextEvent(toolSource, 'update'), nextEvent(agentSource, 'update')]);
    await world.provider.rotate();
    await rotated;

    const admitted = nextEvent(server, 'connection');
    const second = await handshake(clientOptions(), port);
    await admitted;
    expect(serial(second)).not.toBe(firstServerSerial);
    expect(serial(second)).toBe(toolSource.getX509Svid().certificates[0].serialNumber);
    expect(seenClientSerials).toHaveLength(2);
    expect(seenClientSerials[1]).not.toBe(seenClientSerials[0]);
    expect(seenClientSerials[1]).toBe(agentSource.getX509Svid().certificates[0].serialNumber);

    // The connection made before the rotation still carries data.
    const echoed = nextEvent<[Buffer]>(first, 'data');
    first.write('still here');
    expect((await echoed)[0].toString()).toBe('still here');

    first.destroy();
    second.destroy();
    await server.close();
  });
});
