import { describePolicyCheckOfSynth } from "./policySynth";

describePolicyCheckOfSynth("local");
