import { isGrpcContentType } from '../../../src/server/grpc-content-type';

describe('isGrpcContentType', () => {
  it.each(['application/grpc', 'application/grpc+proto', 'application/grpc+json', 'application/grpc;charset=utf-8', 'application/grpc ; x=1', 'Application/GRPC+Proto'])(
    'accepts %j',
    (value) => {
      expect(isGrpcContentType(value)).toBe(true);
    },
  );

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['text/plain', 'text/plain'],
    ['JSON', 'application/json'],
    ['gRPC-Web', 'application/grpc-web'],
    ['gRPC-Web text', 'application/grpc-web-text+proto'],
    ['a longer name', 'application/grpcx'],
    ['a prefix', 'application/grp'],
    ['sent twice', ['application/grpc', 'application/grpc']],
  ])('refuses %s', (_, value) => {
    expect(isGrpcContentType(value as string | string[] | undefined)).toBe(false);
  });
});
