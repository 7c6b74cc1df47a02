// Reference token ids for check_reference.py, one JSON array per text file:
//   node reference.js gpt3 TEXT...             gpt-3-encoder's own encode()
//   node reference.js hf TOKENIZER_JSON TEXT...  Hugging Face tokenizers, no special tokens added
// The packages are found through NODE_PATH (the build folder's npm install).
'use strict';
const fs = require('fs');

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
  } else {
    console.error('usage: reference.js gpt3 TEXT... | hf TOKENIZER_JSON TEXT...');
    process.exit(2);
  }
}

main().catch((e) => {
  console.error(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
