// Loads @peculiar/x509 the one safe way: after its Reflect metadata polyfill, with Node's WebCrypto as provider.
// (tsyringe, which it uses inside, throws at import time without the polyfill, so import x509 from here only.)
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
