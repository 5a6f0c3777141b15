import { describePolicyCheckOfSynth } from "./policySynth";

describePolicyCheckOfSynth("dev");
