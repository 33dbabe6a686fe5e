// The waypoint (issue 6): the L7 proxy. For now its decision engine; the HTTP/HBONE layer executes its answers.
export * from './engine/index.ts';
