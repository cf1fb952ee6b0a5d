'use strict'

// The package's JavaScript API: `RocksDatabase` (./database) and what comes
// with it.
module.exports = require('./database')
