#!/usr/bin/env node
// Launcher for the console client: registers tsx's loader, then runs the TypeScript entry point.
import { register } from 'tsx/esm/api';

register();
await import('../src/client/main.ts');
