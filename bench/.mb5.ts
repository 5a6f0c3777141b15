import * as grpc from "@grpc/grpc-js";
import * as http2 from "node:http2";
import { prepareTfPredictRequest } from "../gateway/src/codecs";
const identity = (b: Buffer) => b;
const mode = process.argv[2];
if (mode === "server") {
  const server = new grpc.Server({ "grpc-node.flow_control_window": 16 * 1024 * 1024, "grpc.max_receive_message_length": 64 * 1024 * 1024 } as any);
  server.addService({ Predict: { path: "/tensorflow.serving.PredictionService/Predict", requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } } as any,
    { Predict: (_c: any, cb: any) => cb(null, Buffer.from([1,2,3])) });
  server.bindAsync("127.0.0.1:50999", grpc.ServerCredentials.createInsecure(), () => console.log("up"));
} else {
  const session = http2.connect("http://127.0.0.1:50999", { settings: { initialWindowSize: 16 << 20 } });
  session.on("connect", () => session.setLocalWindowSize(16 << 20));
  (async () => {
    const N = 200; const t = performance.now(); const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      const { message } = prepareTfPredictRequest({ modelName: "m", signatureName: "s", inputName: "i" }, [1, 299, 299, 3]);
      await new Promise<void>((res, rej) => {
        const s = session.request({ ":method": "POST", ":path": "/tensorflow.serving.PredictionService/Predict", "content-type": "application/grpc", te: "trailers" });
        const prefix = Buffer.alloc(5); prefix.writeUInt32BE(message.length, 1);
        s.write(prefix); s.end(message);
        const chunks: Buffer[] = [];
        s.on("data", (c) => chunks.push(c));
        s.on("trailers", (tr) => { if (tr["grpc-status"] !== "0") rej(new Error(String(tr["grpc-status"]))); });
        s.on("end", () => res()); s.on("error", rej);
      });
    }
    const c1 = process.cpuUsage(c0);
    console.error(mode, "wall ms/it", ((performance.now() - t) / N).toFixed(2), "cpu ms/it", ((c1.user + c1.system) / 1000 / N).toFixed(2));
    session.close();
  })();
}
