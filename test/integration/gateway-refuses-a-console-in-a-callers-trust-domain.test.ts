import { GatewayWorld } from './support/gateway-world';

describe("the approvers' console needs a trust domain of the people's own", () => {
  it("refuses to start when people would get SPIFFE IDs in the gateway's own trust domain (known only from its SVID)", async () => {
    const start = GatewayWorld.start({
      ownTrustDomainOnly: true,
      extraConfig: `approvals:
  console:
    listen: 127.0.0.1:0
    proxy: { spiffeId: spiffe://example.org/auth-proxy, trustDomain: example.org }
`,
    });
    await expect(start).rejects.toThrow(/approvals\.console\.proxy\.trustDomain.*trust domain "example\.org" is a caller's/);
  }, 30_000);
});
