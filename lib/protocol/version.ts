/** The package version, kept equal to package.json's by a unit test; used in the default `user-agent`. */
export const VERSION = '0.1.0';
