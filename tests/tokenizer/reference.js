// Reference token ids for check_reference.py, one JSON array per text file:
//   node reference.js gpt3 TEXT...             gpt-3-encoder's own encode()
//   node reference.js hf TOKENIZER_JSON TEXT...  Hugging Face tokenizers (the Rust library)
//   node reference.js js TOKENIZER_JSON TEXT...  Hugging Face tokenizers.js (@huggingface/tokenizers)
// No special tokens are added (no BOS/EOS); special-token strings inside the
// text are matched. A tokenizer_config.json beside TOKENIZER_JSON is passed to
// tokenizers.js as its second argument. The packages are found through
// NODE_PATH (the build folder's npm install).
'use strict';
const fs = require('fs');
const path = require('path');

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'gpt3') {
    const { encode } = require('gpt-3-encoder');
    for (const f of args) console.log(JSON.stringify(encode(fs.readFileSync(f, 'utf8'))));
  } else if (mode === 'hf') {
    const { Tokenizer } = require('tokenizers');
    const tok = Tokenizer.fromFile(args[0]);
    for (const f of args.slice(1)) {
      const enc = await tok.encode(fs.readFileSync(f, 'utf8'), null, { addSpecialTokens: false });
      console.log(JSON.stringify(enc.getIds()));
    }
  } else if (mode === 'js') {
    const { Tokenizer } = require('@huggingface/tokenizers');
    const json = JSON.parse(fs.readFileSync(args[0], 'utf8'));
    const cfgPath = path.join(path.dirname(args[0]), 'tokenizer_config.json');
    const cfg = fs.existsSync(cfgPath) ? JSON.parse(fs.readFileSync(cfgPath, 'utf8')) : {};
    const tok = new Tokenizer(json, cfg);
    for (const f of args.slice(1)) {
      const enc = tok.encode(fs.readFileSync(f, 'utf8'), { add_special_tokens: false });
      console.log(JSON.stringify(enc.ids));
    }
  } else {
    console.error('usage: reference.js gpt3 TEXT... | hf TOKENIZER_JSON TEXT... | js TOKENIZER_JSON TEXT...');
    process.exit(2);
  }
}

main().catch((e) => {
  console.error(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
