// The package's types: those of the JavaScript API in lib/.
export * from './lib/index'
