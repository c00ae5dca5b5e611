import { minify } from 'terser';
import { readFileSync } from 'fs';
import { gzipSync } from 'zlib';
const src = readFileSync(process.argv[2] || 'src/tracker.js','utf8');
for (const FULL of [false,true]) {
  const r = await minify(src,{ecma:2020,compress:{global_defs:{FULL},passes:3,unsafe_arrows:true,unsafe_methods:true},mangle:true,format:{comments:false}});
  console.log(FULL, r.code.length, gzipSync(r.code,{level:9}).length);
}
if (process.env.SHOW) { const r = await minify(src,{ecma:2020,compress:{global_defs:{FULL:false},passes:3,unsafe_arrows:true,unsafe_methods:true},mangle:true,format:{comments:false}}); console.log(r.code) }
