// Node-RED settings for the bench's peers (bench/run-peer.sh): headless (no
// editor, no HTTP listener at all), the flow from bench/peer/flow.json (or
// the file PEER_FLOW names in this folder, e.g. flow-min.json), the
// user directory in the run's temp dir, context in memory, nothing fetched
// from the network.
'use strict';
const path = require('path');

if (!process.env.PEER_USERDIR)
    throw new Error('PEER_USERDIR is not set: start the peer with bench/run-peer.sh');

module.exports = {
    userDir: process.env.PEER_USERDIR,
    flowFile: path.join(__dirname, process.env.PEER_FLOW || 'flow.json'),
    credentialSecret: false,
    httpAdminRoot: false,
    httpNodeRoot: false,
    uiHost: '127.0.0.1',
    contextStorage: {default: {module: 'memory'}},
    functionExternalModules: false,
    externalModules: {autoInstall: false, palette: {allowInstall: false}},
    diagnostics: {enabled: false},
    runtimeState: {enabled: false},
    telemetry: {enabled: false},
    logging: {console: {level: 'info', metrics: false, audit: false}},
};
