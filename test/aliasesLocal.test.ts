// The local stack (the dev one, and the checks of the check, are in test/aliases.test.ts).
import { describeAdoption } from "./aliasAdoption";

describeAdoption("local", 40);
