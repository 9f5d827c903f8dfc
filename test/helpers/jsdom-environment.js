/**
 * jsdom for the view tests, with the TextEncoder/TextDecoder every browser
 * has (core needs them) and jsdom leaves out.
 */
const { TestEnvironment } = require('jest-environment-jsdom');
const { TextEncoder, TextDecoder } = require('node:util');

class JsdomWithTextCodecs extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.global.TextEncoder = TextEncoder;
    this.global.TextDecoder = TextDecoder;
    // packages resolve by their CommonJS exports, as under Node: jsdom's default, the "browser" export, is an
    // ES module for some (@huggingface/tokenizers, reached through core's index) that jest cannot require
    this.customExportConditions = ['node', 'require', 'default'];
  }
}

module.exports = JsdomWithTextCodecs;
