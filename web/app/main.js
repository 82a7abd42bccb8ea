// The page's entry point (index.html): the app bound to this document.
import { start } from './app.js';

start({ document, location, window });
