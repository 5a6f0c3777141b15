import sharp from "sharp";
import { decodeImage, resizeNormalizeInto } from "../gateway/src/preprocess";
import { prepareTfPredictRequest } from "../gateway/src/codecs";
(async () => {
  const w=640,h=480; const raw=Buffer.alloc(w*h*3); for (let i=0;i<raw.length;i++) raw[i]=(i*7919)&255;
  const jpg = await sharp(raw,{raw:{width:w,height:h,channels:3}}).jpeg({quality:85}).toBuffer();
  const dec = await decodeImage(jpg,{maxPixels:1e8});
  const N=200;
  let t=performance.now();
  for (let i=0;i<N;i++) prepareTfPredictRequest({modelName:"m",signatureName:"s",inputName:"i"},[1,299,299,3]);
  console.log("prepare ms", ((performance.now()-t)/N).toFixed(3));
  const out = new Float32Array(299*299*3);
  for (let k=0;k<3;k++){ t=performance.now();
  for (let i=0;i<N;i++) resizeNormalizeInto(dec,{height:299,width:299},"tf",out,0);
  console.log("resize ms", ((performance.now()-t)/N).toFixed(3)); }
  t=performance.now();
  for (let i=0;i<N;i++) new Float32Array(299*299*3);
  console.log("alloc ms", ((performance.now()-t)/N).toFixed(3));
})();
