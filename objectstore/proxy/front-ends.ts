/**
 * The front ends the proxy mounts on its one port: S3 (objectstore/s3) and Swift
 * (objectstore/swift). Both are fastify plugins taking the proxy's FrontEndOptions
 * (`{ backend, users, region, secret }`).
 */
import type { FrontEnd } from './server.js';
import { s3Plugin } from '../s3/plugin.js';
import swiftFrontEnd from '../swift/plugin.js';

export const FRONT_ENDS: readonly FrontEnd[] = [s3Plugin as FrontEnd, swiftFrontEnd as FrontEnd];
