import sharp from "sharp";
import { decodeImage, resizeNormalizeInto, configureSharp } from "../gateway/src/preprocess";
import { prepareTfPredictRequest } from "../gateway/src/codecs";
(async () => {
  configureSharp();
  const w=640,h=480; const raw=Buffer.alloc(w*h*3); for (let i=0;i<raw.length;i++) raw[i]=(i*7919)&255;
  const jpg = await sharp(raw,{raw:{width:w,height:h,channels:3}}).blur(0.8).jpeg({quality:85}).toBuffer();
  const N=100;
  let t=performance.now(); let c0=process.cpuUsage();
  for (let i=0;i<N;i++) await decodeImage(jpg,{maxPixels:1e8});
  let c1=process.cpuUsage(c0); console.log("decodeImage ms/img wall", ((performance.now()-t)/N).toFixed(2), "cpu", ((c1.user+c1.system)/1000/N).toFixed(2));
  t=performance.now(); c0=process.cpuUsage();
  for (let i=0;i<N;i++) await sharp(jpg).raw().toBuffer();
  c1=process.cpuUsage(c0); console.log("plain sharp raw ms/img wall", ((performance.now()-t)/N).toFixed(2), "cpu", ((c1.user+c1.system)/1000/N).toFixed(2));
  const dec = await decodeImage(jpg,{maxPixels:1e8});
  t=performance.now();
  for (let i=0;i<N;i++) { const p = prepareTfPredictRequest({modelName:"m",signatureName:"s",inputName:"i"},[1,299,299,3]); resizeNormalizeInto(dec,{height:299,width:299},"tf",p.tensor,0); }
  console.log("prepare+resize ms", ((performance.now()-t)/N).toFixed(2));
})();
