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
  }
}

module.exports = JsdomWithTextCodecs;
