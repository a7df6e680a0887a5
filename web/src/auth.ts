import { createContext, useContext } from "react";
import type { Session } from "./api";

export interface Auth {
  session: Session | null;
  setSession: (session: Session | null) => void;
}

export const AuthContext = createContext<Auth>({ session: null, setSession: () => {} });

export function useAuth(): Auth {
  return useContext(AuthContext);
}
