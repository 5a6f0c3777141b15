/**
 * The Keras applications the gateway preprocesses for, and their input sizes: configuration-level
 * facts, kept apart from preprocess.ts so that reading the config loads no image codec (the
 * cluster primary parses the config and serves nothing).
 */

/** Keras `imagenet_utils.preprocess_input` modes. */
export type PreprocessMode = "tf" | "caffe" | "torch";

/** Keras application names (KERAS_MODEL_NAME) and the mode each one's preprocess_input uses. */
export const kerasModelModes: Readonly<Record<string, PreprocessMode>> = {
    xception: "tf",
    inception: "tf",
    inception_v3: "tf",
    inceptionv3: "tf",
    inception_resnet_v2: "tf",
    mobilenet: "tf",
    mobilenet_v2: "tf",
    nasnet: "tf",
    resnet50: "caffe",
    resnet: "caffe",
    resnet101: "caffe",
    resnet152: "caffe",
    vgg16: "caffe",
    vgg19: "caffe",
    densenet: "torch",
    densenet121: "torch",
};

export function modeForKerasModel(name: string): PreprocessMode {
    const mode = kerasModelModes[name.trim().toLowerCase()];
    if (!mode) throw new Error(`unknown Keras model '${name}'; known: ${Object.keys(kerasModelModes).join(", ")}`);
    return mode;
}

export interface InputSize {
    readonly height: number;
    readonly width: number;
}
