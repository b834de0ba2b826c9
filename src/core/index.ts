/** The core: the addon's typed face, backends and errors. Importing it registers the backends. */
export * from './binding.js';
export * from './backend.js';
export * from './errors.js';
import './cpu-backend.js';
import './cuda-backend.js';
import './sim-backend.js';
