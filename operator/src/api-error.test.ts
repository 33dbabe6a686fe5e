import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { apiErrorMessage } from './api-error.ts';

describe('apiErrorMessage', () => {
  it("is the apiserver's Status message", () => {
    const body = JSON.stringify({
      kind: 'Status',
      message: 'gateways.gateway.networking.k8s.io "x" is forbidden',
    });
    expect(
      apiErrorMessage(new ApiException(403, 'Unknown API Status Code!', body, { authorization: 'x' })),
    ).toBe('gateways.gateway.networking.k8s.io "x" is forbidden');
  });

  it('falls back to the HTTP code, and explains a bare 401', () => {
    expect(apiErrorMessage(new ApiException(502, 'Unknown API Status Code!', '<html>', {}))).toBe('HTTP 502');
    expect(apiErrorMessage(new ApiException(401, 'Unauthorized', undefined, {}))).toContain(
      'kubeconfig credentials',
    );
  });

  it('is the first line of any other error', () => {
    expect(apiErrorMessage(new Error('connect ECONNREFUSED 127.0.0.1:6443\n    at somewhere'))).toBe(
      'connect ECONNREFUSED 127.0.0.1:6443',
    );
  });
});
