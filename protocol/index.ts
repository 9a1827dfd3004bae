// The wire contract of fanout-forward, once: what the origin speaks and every client reads. Runtime
// neutral (no Node, no DOM): imported by origin/ and client/.
export * from './channelNames.ts';
export * from './continuity.ts';
export * from './envelope.ts';
export * from './eventStreamReader.ts';
export * from './lineReader.ts';
export * from './messageIds.ts';
export * from './presence.ts';
export * from './streamFraming.ts';
export * from './streamPositions.ts';
export * from './transports.ts';
export * from './utf8.ts';
export * from './wsFrames.ts';
